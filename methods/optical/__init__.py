"""OPTICAL: optimal-transport distillation of an English teacher into a student for other languages.

The registered method classes live in ``method`` (no torch at import); ``sinkhorn``, ``encoders``
and ``training`` import torch and are loaded only when a method runs.
"""
