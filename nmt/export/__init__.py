"""SavedModel export of a Translator (:mod:`~nmt.export.writer`) and the loader of exports (:mod:`~nmt.export.loader`)."""

from nmt.export.loader import ExportedTranslator, ExportError, load_exported
from nmt.export.writer import export_translator

__all__ = ["ExportError", "ExportedTranslator", "export_translator", "load_exported"]
