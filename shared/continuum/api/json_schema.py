"""Documentation of the request types' rules in the OpenAPI document (schemas.py uses them).

JSON Schema patterns saying what schemas.py's validators accept, so that a request valid by
the document is accepted, and `Documented`, which adds keywords to a type's JSON Schema
without changing its validation. Whitespace is what str.strip() removes.
"""

from typing import Any

from pydantic import GetJsonSchemaHandler
from pydantic_core import CoreSchema

_SPACE = r"\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NO_NUL_PATTERN = r"^[^\x00]*$"
NON_BLANK_PATTERN = rf"^[^\x00]*[^\x00{_SPACE}][^\x00]*$"
IDENTIFIER_PATTERN = rf"^[^\x00-\x1f]*[^\x00-\x1f{_SPACE}][^\x00-\x1f]*$"
CURSOR_PATTERN = r"^[0-9A-HJKMNP-TV-Z]{26}$"  # a memory id (ULID, Crockford base 32)
METADATA_VALUE_REF = "#/components/schemas/MetadataValue"  # api/openapi.py defines it
METADATA_VALUE_SCHEMA: dict[str, Any] = {
    "description": "A JSON value; strings and keys without NUL",
    "anyOf": [
        {"type": "string", "pattern": NO_NUL_PATTERN},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "null"},
        {"type": "array", "items": {"$ref": METADATA_VALUE_REF}},
        {
            "type": "object",
            "propertyNames": {"pattern": NO_NUL_PATTERN},
            "additionalProperties": {"$ref": METADATA_VALUE_REF},
        },
    ],
}


class Documented:
    """JSON Schema keywords added to a type's schema: documentation only, validation is unchanged."""

    def __init__(self, **keywords: Any) -> None:
        self.keywords = keywords

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        return {**handler(schema), **self.keywords}
