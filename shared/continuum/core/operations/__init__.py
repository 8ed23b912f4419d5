"""What the engine's operations take and give: plain typed values, no I/O, no validation.

One module per resource (learn, recall, memories, search, concepts, keys), so that a
process imports only the values of the operations it serves: defining a dataclass costs
about half a millisecond, which every Lambda cold start would otherwise pay for all of them.
The HTTP API validates its request schemas and maps them to these (continuum.api.mapping);
the CLI builds them directly. Field names follow the HTTP shapes one to one.
"""
