"""Validate YAML data into a pydantic model, turning its errors into one ContractError that names line and field."""

from __future__ import annotations

from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from infra_models.errors import ContractError
from infra_models.yaml_limits import line_of

__all__ = ["validate_with_lines"]

ModelT = TypeVar("ModelT", bound=BaseModel)


def validate_with_lines(model: type[ModelT], root: yaml.Node, data: dict[str, Any], *, filename: str) -> ModelT:
    """Return ``model.model_validate(data)``; on failure raise ContractError naming ``filename:line`` and field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            field = ".".join(str(part) for part in loc) or "(contract)"
            message = error["msg"].removeprefix("Value error, ")
            problems.append({"line": line_of(root, loc), "field": field, "message": message})
        first = problems[0]
        summary = f"{filename}:{first['line']}: field `{first['field']}`: {first['message']}"
        if len(problems) > 1:
            summary += f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})"
        raise ContractError(summary, details={"file": filename, "problems": problems}) from exc
