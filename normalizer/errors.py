"""Why a raw record could not be mapped. The runner quarantines the record with this reason."""


class MappingError(ValueError):
    """The raw record is malformed or not understood; quarantine it, keep the rest of the page.

    The message must say which field and what was wrong, and must never contain buyer PII.
    """
