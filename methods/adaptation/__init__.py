"""Language-adaptive pre-training: an encoder's continued MLM training on target-language text.

``stage`` holds the options any method mixes in and ``method`` the registered methods (neither
imports torch); ``text`` finds the monolingual text and ``mlm`` trains (torch and transformers,
loaded only when a method runs).
"""
