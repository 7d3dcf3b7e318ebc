"""One function per entity that turns a canonical record's fields into its hash input and its
driver values in a single straight pass.

The page writer needs two views of every canonical record: its content
(``fingerprints.canonical_content``) with number-like strings normalized, for its hash
(``fingerprints.content_hash``), and the column values for the driver
(``EntityPlan.field_values``). Computed one after the other, with a call per field and view,
they were a large part of the CPU a record costs before the database. The function built here
does both at once with each field's common cases (text, null, decimal, UTC time) written out
inline, the way ``dataclasses`` builds ``__init__``: from source text made only of the schema's
own field names. Integers, dates and enums go through ``fingerprints.content_parts``; a class it
does not know makes the function return None (the caller then uses the functions above).
``tests/warehouse/test_fingerprints.py`` checks the results are the same. (The content itself is
not needed here: while a version is current, its content is the row; ``stored_content``.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from warehouse.driver_rows import sqlite_time
from warehouse.fingerprints import PLAIN_SCALARS, content_parts, normalize_number_text

RowParts = tuple[dict[str, Any], tuple[Any, ...]]
RowPartsFunction = Callable[[Mapping[str, Any]], RowParts | None]


_TIME = """\
        h{i} = v.isoformat().replace("+00:00", "Z")
        f{i} = adapt{i}(v)
"""

# SQLite stores a UTC time as the text of driver_rows.sqlite_time: the same digits as the
# hashed ISO text, so it is cut from that text instead of formatting the time twice.
_SQLITE_TIME = """\
        iso = v.isoformat()
        if iso.endswith("+00:00"):
            h{i} = iso[:-6] + "Z"
            f{i} = iso[:10] + " " + iso[11:19] + (iso[19:26] if len(iso) == 32 else ".000000")
        else:
            h{i} = iso
            f{i} = adapt{i}(v)
"""

_FIELD = """\
    v = values[{name!r}]
    k = v.__class__
    if k is str:
        f{i} = v
        h{i} = normalize(v) if v.replace(".", "", 1).lstrip("-").isdigit() else v
    elif v is None:
        h{i} = f{i} = None
    elif k is Decimal:
        h{i} = format(v.normalize(), "f") if v.is_finite() else format(v, "f")
        f{i} = adapt{i}(v)
    elif k is datetime:
{time}    else:
        parts = content_parts(k)
        if parts is None:
            return None
        h{i} = parts(v)[1]
        f{i} = v if k in AS_IS else adapt{i}(v)
"""


def compile_row_parts(
    field_names: Sequence[str], adapters: Sequence[Callable[[Any], Any]]
) -> RowPartsFunction:
    """values -> (hash input, driver values) for these fields, or None."""
    for name in field_names:
        if not name.isidentifier():  # schema field names only; never data
            raise ValueError(f"not a field name: {name!r}")
    body = "".join(
        _FIELD.format(
            name=name, i=i, time=(_SQLITE_TIME if adapt is sqlite_time else _TIME).format(i=i)
        )
        for i, (name, adapt) in enumerate(zip(field_names, adapters, strict=True))
    )
    hashed = ", ".join(f"{name!r}: h{i}" for i, name in enumerate(field_names))
    fields = "".join(f"f{i}, " for i in range(len(field_names)))
    source = f"def row_parts(values):\n{body}    return {{{hashed}}}, ({fields})\n"
    namespace: dict[str, Any] = {
        "Decimal": Decimal,
        "datetime": datetime,
        "content_parts": content_parts,
        "normalize": normalize_number_text,
        "AS_IS": PLAIN_SCALARS,
        **{f"adapt{i}": adapt for i, adapt in enumerate(adapters)},
    }
    exec(compile(source, f"<row_parts {', '.join(field_names)}>", "exec"), namespace)  # noqa: S102
    function: RowPartsFunction = namespace["row_parts"]
    return function
