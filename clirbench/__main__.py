from clirbench.cli import main

main()
