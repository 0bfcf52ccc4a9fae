"""The Perdoo GraphQL names okrsync may use, each with where it was documented, and a checker.

Perdoo publishes no schema file and its introspection is switched off, so this SDL holds
only the operations, fields, arguments and input fields found in public sources:

- [I] the ``__type`` introspection output a third-party Perdoo client captured from the live
  API: Natural-Heroes/workflows, mcp/perdoo/.planning/phases/01-foundation-objectives/
  introspection-output.json (objective type, UpsertObjectiveMutationInput,
  DeleteObjectiveMutationInput, ObjectiveStage, and the arguments of every root query);
- [O] that client's operations, validated by it against the live API:
  mcp/perdoo/src/services/perdoo/operations/{objectives,key-results,initiatives}.ts and
  src/mcp/tools/key-results.ts (keyResult fields endValue, metricUnit, targetType, parent;
  upsertKeyResult; its payload ``keyResult``/``errors{field messages}``);
- [T] its types.ts (enums CommitStatus, MetricUnit, TargetType; kpi fields; user email).

A name we use but could only infer is listed in ``UNCONFIRMED`` with the reason; the
checker reports which of them a query used, so tests pin that set (README lists it too).

``check(query, variables)`` parses a document with graphql-core, validates it against this
schema (unknown field, argument, input field or variable type → ``AssertionError``) and
returns the unconfirmed names it touched. The Perdoo emulator serves the same schema.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLSchema, build_schema, parse, validate
from graphql.execution.values import get_variable_values
from graphql.language import FieldNode, Visitor, visit
from graphql.utilities import TypeInfo, TypeInfoVisitor

CURRENCIES = ("AED EUR USD GBP AUD BRL CAD CHF CLP CNY CZK DKK HKD HUF IDR ILS INR IQD JOD JPY KES KRW KWD KZT "
              "MXN MYR NGN NOK NZD PHP PKR PLN RON RUB SAR SEK SGD THB TRY TWD ZAR")  # [T] MetricUnit

SDL = f"""
scalar UUID
scalar DateTime

# [T] CommitStatus; [I] ObjectiveStage; [I] PerdooApiKeyResultTypeChoices (KEY_RESULT | INITIATIVE per [T])
enum CommitStatus {{ NO_STATUS OFF_TRACK NEEDS_ATTENTION ON_TRACK ACCOMPLISHED }}
enum ObjectiveStage {{ DRAFT ACTIVE CLOSED }}
enum PerdooApiKeyResultTypeChoices {{ KEY_RESULT INITIATIVE }}
enum MetricUnit {{ NUMERICAL PERCENTAGE {CURRENCIES} }}
enum TargetType {{ STAY_AT_OR_ABOVE STAY_AT_OR_BELOW INCREASE_TO DECREASE_TO }}

type PageInfo {{ hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String endCursor: String }}

type user {{ id: UUID! name: String email: String }}                       # [I] lead{{id name email}} answered
type userEdge {{ cursor: String! node: user }}
type userConnection {{ pageInfo: PageInfo! edges: [userEdge]! }}
type timeframe {{ id: UUID! name: String! }}                                # [I] timeframe{{id name}} answered
type timeframeEdge {{ cursor: String! node: timeframe }}
type timeframeConnection {{ pageInfo: PageInfo! edges: [timeframeEdge]! }}
type group {{ id: UUID! name: String! }}                                    # [I] groups edges node{{id name}}
type groupEdge {{ cursor: String! node: group }}
type groupConnection {{ pageInfo: PageInfo! edges: [groupEdge]! }}

type kpi {{                                                                 # [T] kpi fields
  id: UUID! name: String! description: String lastCommitStatus: CommitStatus
  metricUnit: MetricUnit startValue: Float currentValue: Float targetType: TargetType archived: Boolean!
}}
type kpiEdge {{ cursor: String! node: kpi }}
type kpiConnection {{ pageInfo: PageInfo! edges: [kpiEdge]! }}

type objective {{                                                           # [I] type objective
  id: UUID! name: String! description: String progress: Float status: CommitStatus!
  stage: ObjectiveStage! weight: Float! startDate: DateTime dueDate: DateTime lastEditedDate: DateTime!
  lead: user timeframe: timeframe! parent: objective groups: groupConnection! kpi: kpi
}}
type objectiveEdge {{ cursor: String! node: objective }}
type objectiveConnection {{ pageInfo: PageInfo! edges: [objectiveEdge]! }}

type keyResult {{                                                           # [O] key-results.ts
  id: UUID! name: String! description: String status: CommitStatus! type: PerdooApiKeyResultTypeChoices!
  weight: Float! startValue: Float endValue: Float currentValue: Float metricUnit: MetricUnit
  targetType: TargetType archived: Boolean! startDate: DateTime dueDate: DateTime lastEditedDate: DateTime
  lead: user objective: objective parent: keyResult
}}
type keyResultEdge {{ cursor: String! node: keyResult }}
type keyResultConnection {{ pageInfo: PageInfo! edges: [keyResultEdge]! }}

type Query {{
  # [I] root query arguments (each list is a subset of what introspection answered)
  objectives(first: Int, after: String, name_Icontains: String, stage: String, timeframe: UUID,
             createdDate_Gte: DateTime, includePastTimeframes: Boolean): objectiveConnection
  keyResults(first: Int, after: String, name_Icontains: String, objective: UUID, type: String, archived: Boolean,
             createdDate_Gte: DateTime): keyResultConnection
  initiatives(first: Int, after: String, name_Icontains: String, objective: UUID, archived: Boolean,
              createdDate_Gte: DateTime): keyResultConnection
  timeframes(first: Int, after: String, name: String): timeframeConnection
  allGroups(first: Int, after: String, name: String): groupConnection
  allKpis(first: Int, after: String, archived: Boolean): kpiConnection
  allUsers(first: Int, after: String, email: String): userConnection
  objective(id: UUID!): objective
  result(id: UUID!): keyResult
}}

type ErrorType {{ field: String! messages: [String!]! }}                   # [O] errors{{field messages}}

input UpsertObjectiveMutationInput {{                                       # [I] every input field
  name: String goal: ID description: String groups: [ID] lead: ID stage: String timeframe: ID
  mapIndex: Int parent: ID kpi: ID contributors: [ID] private: Boolean progressDriver: String
  isCompanyGoal: Boolean goalUpdateCycle: String parentKeyResult: ID tags: [ID] id: ID clientMutationId: String
}}
type UpsertObjectiveMutationPayload {{ objective: objective errors: [ErrorType!]! clientMutationId: String }}

input UpsertKeyResultMutationInput {{                                       # [O] create/update_key_result
  id: ID name: String description: String objective: ID lead: ID type: String
  startValue: Float endValue: Float currentValue: Float metricUnit: String targetType: String
  weight: Float archived: Boolean parent: ID clientMutationId: String
}}
type UpsertKeyResultMutationPayload {{ keyResult: keyResult errors: [ErrorType!]! clientMutationId: String }}

input DeleteObjectiveMutationInput {{ id: ID clientMutationId: String }}    # [I]
type DeleteObjectiveMutationPayload {{ clientMutationId: String }}

type Mutation {{
  upsertObjective(input: UpsertObjectiveMutationInput!): UpsertObjectiveMutationPayload     # [I]/[O]
  upsertKeyResult(input: UpsertKeyResultMutationInput!): UpsertKeyResultMutationPayload     # [O]
  deleteObjective(input: DeleteObjectiveMutationInput!): DeleteObjectiveMutationPayload     # see UNCONFIRMED
}}
"""

# Names in the SDL that no source shows verbatim: inferred, and marked as such in the README.
UNCONFIRMED = {
    "Mutation.deleteObjective": "only its input type DeleteObjectiveMutationInput{id} was introspected; "
                                "the field name follows graphene's naming of that input",
    "DeleteObjectiveMutationPayload.clientMutationId": "payload fields of deleteObjective were not captured",
    "UpsertKeyResultMutationInput.parent": "keyResult.parent is read by [O]; the input field is inferred",
    "Mutation.upsertKeyResult": "no introspection of Mutation was captured; [O] never ran it against the live API",
    **{f"UpsertKeyResultMutationInput.{name}": "input fields inferred from keyResult's read fields; the client's "
       "first guesses for the same type were wrong (HTTP 400, Natural-Heroes/workflows 6da1b01)"
       for name in ("id", "name", "description", "objective", "lead", "type", "startValue", "endValue",
                    "currentValue", "metricUnit", "targetType", "weight", "archived")},
    "timeframes.name": "a documented filter argument of timeframes; the connector does not rely on it",
}

SCHEMA: GraphQLSchema = build_schema(SDL)


def check(query: str, variables: dict[str, Any] | None = None) -> set[str]:
    """Validate ``query`` (and its ``variables``) against the documented schema; return the
    UNCONFIRMED names it used. Fails with AssertionError naming what Perdoo does not document."""
    document = parse(query)
    errors = validate(SCHEMA, document)
    assert not errors, "undocumented Perdoo GraphQL: " + "; ".join(e.message for e in errors)
    for op in document.definitions:
        coerced = get_variable_values(SCHEMA, op.variable_definitions or [], variables or {})
        assert not isinstance(coerced, list), "bad variables: " + "; ".join(e.message for e in coerced)
    used: set[str] = set()
    info = TypeInfo(SCHEMA)

    class Names(Visitor):
        def enter_field(self, node: FieldNode, *_):
            parent = info.get_parent_type()
            if parent is not None:
                used.add(f"{parent.name}.{node.name.value}")

    visit(document, TypeInfoVisitor(info, Names()))
    for op in document.definitions:  # input fields travel in variables: name them by their type
        for var in op.variable_definitions or []:
            kind = var.type.type.name.value if hasattr(var.type, "type") else var.type.name.value
            value = (variables or {}).get(var.variable.name.value)
            if isinstance(value, dict):
                used.update(f"{kind}.{key}" for key in value)
    return {name for name in used if name in UNCONFIRMED}


# what graphql-core says when a resolver's value does not fit the schema's type (an
# emulator answer off the schema, not an answer Perdoo gives)
OFF_SCHEMA = ("cannot represent", "Cannot return null for non-nullable field", "Expected Iterable")


class SchemaCheck:
    """The emulator's ``spec`` (``tests/emulators/server.py``): every document sent is checked
    by ``check`` and every answer for values that do not fit the schema's types. The emulator
    executes documents against ``SCHEMA``, so an off-schema document or value would otherwise
    only come back as a GraphQL error a connector may tolerate."""

    def request(self, method: str, path: str, body: Any, query: dict[str, Any]) -> None:
        assert method == "POST" and isinstance(body, dict), f"not a GraphQL request: {method} {path}"
        check(body.get("query") or "", body.get("variables"))

    def response(self, method: str, path: str, status: int, body: Any) -> None:
        errors = body.get("errors") if isinstance(body, dict) else None
        off = [str(e.get("message")) for e in errors or [] if isinstance(e, dict)
               and any(text in str(e.get("message")) for text in OFF_SCHEMA)]
        assert not off, "an answer off the schema: " + "; ".join(off)


__all__ = ["SCHEMA", "SDL", "UNCONFIRMED", "SchemaCheck", "check"]
