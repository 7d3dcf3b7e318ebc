"""schemathesis against the RUNNING API (uvicorn on loopback) over its own /openapi.json.

Every scoring operation (tag ``scoring``) gets, with tenant A's key:

* schemathesis' coverage cases: boundary and missing values of every parameter, valid and
  invalid, and undeclared methods;
* Hypothesis-generated requests, valid and invalid, and valid ones aimed at real data (the
  tenant's seller, a stored row).

No response may be a 5xx, and every response must match the schema: documented status code,
content type and body. Bounded and repeatable: the coverage cases are a fixed list, and a few
derandomized examples per operation and mode.

Checks left out, on purpose:

* ``positive_data_acceptance``: an opaque signed cursor and cross-field rules (``end`` not before
  ``start``, at most 1096 days) cannot be said in OpenAPI, so a schema-valid request may rightly
  get a 400 or 422; ``test_queries.py`` covers those by hand.

(schemathesis' own pytest plugin is not used: its lazy ``from_fixture`` loader breaks on
pytest 9, so the operations are driven here directly.)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import positive_data_acceptance

from .conftest import World
from .test_queries import current_rows

# a few per operation and mode keeps the test short; raise it for a deeper run by hand
EXAMPLES = int(os.environ.get("SELLERHUB_SCHEMATHESIS_EXAMPLES", "4"))
# a signed cursor and start<=end rules cannot be said in OpenAPI: valid-looking data may get 4xx
EXCLUDED = [positive_data_acceptance]


def scoring_schema(world: World) -> Any:
    return schemathesis.openapi.from_url(f"{world.base_url}/openapi.json").include(tag="scoring")


def operations_of(schema: Any) -> Iterator[Any]:
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"invalid operation in our schema: {result}"
        yield result.ok()


def real_path_parameters(world: World, operation: Any) -> dict[str, str] | None:
    """Path parameters that name data tenant A owns, so valid requests also reach real rows."""
    path = str(operation.path)
    if "{seller_id}" in path:
        return {"seller_id": sorted(world.sellers_a)[0]}
    if path.endswith("/lineage"):
        entity = path.split("/")[2]
        rows = current_rows(world, entity, world.tenant_a)
        return {"external_id": sorted(r.external_id for r in rows)[0]} if rows else None
    return None


def checker(world: World) -> Callable[[Any], None]:
    def check(case: Any) -> None:
        case.call_and_validate(
            base_url=world.base_url, headers=world.headers(), excluded_checks=EXCLUDED
        )

    return check


def failure_of(label: str, run: Callable[[], None]) -> str | None:
    try:
        run()
    except (Exception, BaseExceptionGroup) as failure:  # schemathesis raises a group
        return f"{label}: {failure}"
    return None


def coverage_failures(world: World, schema: Any, operation: Any) -> list[str]:
    check = checker(world)
    generation = schema.config.generation_for(operation=operation, phase="coverage")
    cases = schema.iter_coverage_cases(
        operation, generation_modes=list(GenerationMode), generation_config=generation
    )
    found = [failure_of(f"{operation.label} [coverage]", lambda c=case: check(c)) for case in cases]
    return [f for f in found if f is not None]


def fuzzing_failure(world: World, operation: Any, mode: GenerationMode, **fixed: Any) -> str | None:
    @given(case=operation.as_strategy(generation_mode=mode, **fixed))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    def run(case: Any) -> None:
        checker(world)(case)

    label = f"{operation.label} [{mode.value}{' real ids' if fixed else ''}]"
    return failure_of(label, run)


def test_scoring_api_matches_its_schema(world: World) -> None:
    schema = scoring_schema(world)
    operations = list(operations_of(schema))
    assert len(operations) >= 19, [o.label for o in operations]
    failures: list[str | None] = []
    for operation in operations:
        failures.extend(coverage_failures(world, schema, operation))
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures.append(fuzzing_failure(world, operation, mode))
        real = real_path_parameters(world, operation)
        if real is not None:
            failures.append(
                fuzzing_failure(world, operation, GenerationMode.POSITIVE, path_parameters=real)
            )
    found = [f for f in failures if f is not None]
    assert not found, f"{len(found)} failures:\n\n" + "\n\n".join(found[:10])
