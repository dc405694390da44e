"""Research methods shipped with clirbench (installed as ``clirbench.methods``)."""
