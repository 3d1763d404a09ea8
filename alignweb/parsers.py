"""A JSON parser that turns pathological input into a 400 instead of a 500: nesting too
deep, and strings or numbers PostgreSQL cannot store (NUL, lone surrogates, 1e400; see
alignweb/text.py).
NaN and Infinity are already refused by DRF's strict JSON parsing."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from .text import first_unstorable


class SafeJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.")
        problem = first_unstorable(data)
        if problem:
            raise ParseError(f"JSON parse error - {problem}")
        return data
