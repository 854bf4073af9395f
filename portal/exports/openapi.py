"""The OpenAPI 3.1 document of the open-data API (`portal.exports.api`). Pure data.

Schemas are strict (`additionalProperties: false`): a field added to a response without
being documented here fails the test that validates real responses against this document,
which is also the guard against personal data slipping into the API.
"""

DIALECT = "https://spec.openapis.org/oas/3.1/dialect/base"
STAMP = {"type": ["string", "null"], "format": "date-time"}
LANGUAGE = {"enum": ["kk", "ru", "en", None]}
TEXT_LANGUAGE = {
    **LANGUAGE,
    "description": "The language of the draft's text the author read; null: the original",
}


def _state_texts(*fields):
    """<field>_kk / <field>_ru: the text in that state language besides the original."""
    return {
        f"{field}_{lang}": {
            "type": ["string", "null"],
            "description": (
                f"The {field} in {name} (the original, if written in {name}); "
                "null when there is none"
            ),
        }
        for field in fields
        for lang, name in (("kk", "Kazakh"), ("ru", "Russian"))
    }


TEXT3 = {
    "type": "object",
    "properties": {lang: {"type": "string"} for lang in ("kk", "ru", "en")},
    "required": ["kk", "ru", "en"],
    "additionalProperties": False,
}


def _obj(properties, required=None):
    return {
        "type": "object",
        "properties": properties,
        "required": sorted(properties) if required is None else required,
        "additionalProperties": False,
    }


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


NEXT = {
    "next_cursor": {
        "type": ["string", "null"],
        "description": "Pass as `cursor` for the next page; null on the last page.",
    },
    "next": {
        "type": ["string", "null"],
        "format": "uri",
        "description": "URL of the next page (cursor-based); null on the last page.",
    },
}
PAGE_NUMBERS = {
    "page": {"type": "integer", "minimum": 1},
    "total": {"type": "integer", "minimum": 0},
    "pages": {"type": "integer", "minimum": 0},
}


def _page_of(name):
    """A list page. With `page`, it has page, total and pages; with `cursor`, it has not
    (counting every row would make deep pages cost as much as OFFSET did)."""
    properties = {
        "items": {"type": "array", "items": _ref(name)},
        "per_page": {"type": "integer", "minimum": 1, "maximum": 100},
        **PAGE_NUMBERS,
        **NEXT,
    }
    return _obj(properties, required=["items", "next", "next_cursor", "per_page"])


SCHEMAS = {
    "Error": _obj(
        {
            "error": _obj(
                {"code": {"type": "integer"}, "message": {"type": "string"}},
            )
        }
    ),
    "Cycle": _obj(
        {
            "id": {"type": "integer"},
            "title": TEXT3,
            "region": {"type": "string", "description": "ISO 3166-2 code, e.g. KZ-75"},
            "district": {"type": ["string", "null"]},
            "budget": {"type": "integer", "description": "Tenge"},
            "cost_cap": {"type": ["integer", "null"]},
            "ballot_rule": {"enum": ["knapsack", "k_approval", "single"]},
            "max_choices": {"type": ["integer", "null"]},
            "winner_rule": {"enum": ["greedy", "mes"]},
            "phase": {"enum": ["proposals", "review", "voting", "results", "implementation"]},
            "proposals_open_at": STAMP,
            "review_open_at": STAMP,
            "voting_open_at": STAMP,
            "voting_close_at": STAMP,
            "results_published": {"type": "boolean"},
        }
    ),
    "Heading": _obj(
        {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "district": {"type": ["string", "null"], "description": "null: the whole region"},
            "budget": {"type": "integer", "description": "Tenge"},
            "cost_cap": {"type": ["integer", "null"]},
            "ballot_rule": {"enum": ["knapsack", "k_approval", "single"]},
            "max_choices": {"type": ["integer", "null"]},
            "min_votes": {"type": ["integer", "null"]},
            "winner_rule": {"enum": ["greedy", "mes"]},
            "projects": {"type": "integer", "description": "Projects on its ballot"},
            "ballots": {
                "type": ["integer", "null"],
                "description": "Ballots cast in it; null until voting closes",
            },
            "results_published": {"type": "boolean"},
            "total_cost": {"type": ["integer", "null"]},
        }
    ),
    "HeadingList": _obj(
        {"cycle_id": {"type": "integer"}, "items": {"type": "array", "items": _ref("Heading")}}
    ),
    "Project": _obj(
        {
            "id": {"type": "integer"},
            "heading_id": {"type": "integer", "description": "The budget heading it is in"},
            "title": {"type": "string"},
            "category": {"type": "string"},
            "district": {"type": ["string", "null"]},
            "estimated_cost": {"type": "integer"},
            "final_cost": {"type": ["integer", "null"]},
            "status": {"enum": ["submitted", "feasible", "infeasible", "withdrawn"]},
            "review_reason": {"type": ["string", "null"]},
            "votes": {
                "type": ["integer", "null"],
                "description": "Approvals; null until the results are published",
            },
            "selected": {"type": ["boolean", "null"]},
            "funded": {"type": "boolean"},
            "implementation_status": {"type": ["string", "null"]},
            "progress": {"type": "integer", "minimum": 0, "maximum": 100},
            "submitted_at": STAMP,
            **_state_texts("title"),
        }
    ),
    "Results": _obj(
        {
            "cycle_id": {"type": "integer"},
            "heading": _obj({"id": {"type": "integer"}, "name": {"type": "string"}}),
            "rule": {"enum": ["greedy", "mes"]},
            "published_rules": {"type": "array", "items": {"type": "string"}},
            "budget": {"type": "integer"},
            "total_cost": {"type": "integer"},
            "ballots": {"type": "integer"},
            "ballots_by_channel": {
                "type": "object",
                "additionalProperties": {"type": "integer"},
                "propertyNames": {"enum": ["online", "paper", "imported"]},
            },
            "published_at": STAMP,
            "projects": {
                "type": "array",
                "items": _obj(
                    {
                        "project_id": {"type": "integer"},
                        "cost": {"type": "integer"},
                        "votes": {"type": "integer"},
                        "selected": {"type": "boolean"},
                    }
                ),
                "description": "One page of the projects, most votes first.",
            },
            "per_page": {"type": "integer", "minimum": 1, "maximum": 100},
            **PAGE_NUMBERS,
            "next": NEXT["next"],
        }
    ),
    "Draft": _obj(
        {
            "id": {"type": "integer"},
            "title": TEXT3,
            "summary": TEXT3,
            "agency": {"type": "string"},
            "kind": {"enum": ["law", "bylaw", "concept", "budget_programme"]},
            "region": {"type": ["string", "null"], "description": "null: a national draft"},
            "status": {"enum": ["open", "closed", "report_published"]},
            "period_start": STAMP,
            "period_end": STAMP,
            "answer_due": STAMP,
            "text_language": {
                **LANGUAGE,
                "description": "The language of the articles' original text; null: not known",
            },
            "second_language": {
                **LANGUAGE,
                "description": "The other state language the articles carry; null: none",
            },
        }
    ),
    "Article": _obj(
        {
            "id": {"type": "integer"},
            "position": {"type": "integer"},
            "number": {"type": "string"},
            "title": {"type": "string"},
            "chapter": {"type": "string"},
            "text": {"type": "string"},
            **_state_texts("title", "chapter", "text"),
        }
    ),
    "Answer": _obj(
        {
            "decision": {"enum": ["accepted", "partly_accepted", "not_accepted"]},
            "justification": {"type": "string"},
            "new_wording": {"type": "string"},
            "answered_at": STAMP,
        }
    ),
    "Comment": _obj(
        {
            "id": {"type": "integer"},
            "article_id": {"type": ["integer", "null"]},
            "stance": {"enum": ["support", "object", "reword"]},
            "text": {"type": "string"},
            "proposed_wording": {"type": "string"},
            "campaign_id": {"type": ["integer", "null"]},
            "created_at": STAMP,
            "answer": {"oneOf": [_ref("Answer"), {"type": "null"}]},
            "text_language": TEXT_LANGUAGE,
        }
    ),
    "SummaryRow": _obj(
        {
            "comment_id": {"type": "integer"},
            "article": {"type": ["string", "null"]},
            "text": {"type": "string"},
            "stance": {"enum": ["support", "object", "reword"]},
            "decision": {"enum": ["accepted", "partly_accepted", "not_accepted", None]},
            "justification": {"type": "string"},
            "new_wording": {"type": "string"},
            "answered_at": STAMP,
            "text_language": TEXT_LANGUAGE,
        }
    ),
}
for _name in ("Cycle", "Project", "Draft", "Article", "Comment", "SummaryRow"):
    SCHEMAS[f"{_name}Page"] = _page_of(_name)

PAGE_PARAMETERS = [
    {
        "name": "page",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 1},
    },
    {
        "name": "per_page",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
    },
    {
        "name": "cursor",
        "in": "query",
        "description": "Keyset pagination: the next_cursor of the previous page (not with page).",
        "schema": {"type": "string"},
    },
]
HEADING_PARAMETER = {
    "name": "heading",
    "in": "query",
    "description": "A budget heading's id (see /cycles/{cycle_id}/headings)",
    "schema": {"type": "integer", "minimum": 1},
}
RESULT_PAGE_PARAMETERS = [
    PAGE_PARAMETERS[0],
    {
        "name": "per_page",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 100},
    },
]


HEX = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
LEDGER_HEAD = {
    "cycle_id": {"type": "integer"},
    "size": {"type": "integer", "minimum": 0, "description": "Number of ledger entries"},
    "root": {**HEX, "description": "Merkle tree root (RFC 6962), hex"},
    "algorithm": {"type": "string", "const": "RFC6962-SHA256"},
    "leaf": {"type": "string"},
    "node": {"type": "string"},
    "frozen": {"type": "boolean", "description": "True once voting closed (never changes)"},
    "frozen_at": STAMP,
    "leaves_url": {"type": ["string", "null"], "description": "Every entry, after close"},
}
RESULT_VERSION = _obj(
    {
        "rule": {"type": "string"},
        "version": {"type": "integer", "minimum": 1},
        "reason": {"type": ["string", "null"], "description": "Why a correction was made"},
        "published_at": STAMP,
        "engine_rule": {"type": ["string", "null"]},
        "min_votes": {"type": ["integer", "null"]},
        "costs": {"type": "object", "additionalProperties": {"type": "integer"}},
        "votes": {"type": "object", "additionalProperties": {"type": "integer"}},
        "selected": {"type": "array", "items": {"type": "integer"}},
        "total_cost": {"type": "integer"},
        "ledger": {
            "type": ["object", "null"],
            "description": "The frozen ledger head this result was computed from",
        },
    }
)
SCHEMAS.update(
    {
        "LedgerHead": _obj(LEDGER_HEAD),
        "LedgerProof": _obj(
            {
                "cycle_id": {"type": "integer"},
                "leaf_index": {"type": "integer", "minimum": 0},
                "tree_size": {"type": "integer", "minimum": 1},
                "root": HEX,
                "algorithm": {"type": "string"},
                "leaf_data": {"type": "string", "description": "Canonical JSON of the entry"},
                "leaf_hash": HEX,
                "audit_path": {"type": "array", "items": HEX},
            }
        ),
        "LedgerLeaves": _obj(
            {
                "cycle_id": {"type": "integer"},
                "size": {"type": "integer", "minimum": 0},
                "root": HEX,
                "algorithm": {"type": "string"},
                "leaves": {"type": "array", "items": {"type": "string"}},
            }
        ),
        "Verification": _obj(
            {
                "cycle_id": {"type": "integer"},
                "budget": {"type": "integer"},
                "ballot_rule": {"type": "string"},
                "winner_rule": {"type": "string"},
                "min_votes": {"type": ["integer", "null"]},
                "voting_closed": {"type": "boolean"},
                "ledger": _obj(LEDGER_HEAD),
                "results": {"type": "array", "items": RESULT_VERSION},
            }
        ),
    }
)


def _id(name):
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }


def _json(schema_name, description):
    return {
        "description": description,
        "content": {"application/json": {"schema": _ref(schema_name)}},
    }


ERRORS = {
    "400": _json("Error", "Bad parameter (page, per_page or a filter)"),
    "404": _json("Error", "Not found (or not public yet)"),
}


def _get(summary, schema, *, params=(), paged=False, operation_id):
    parameters = list(params) + (PAGE_PARAMETERS if paged else [])
    return {
        "get": {
            "operationId": operation_id,
            "summary": summary,
            "parameters": parameters,
            "responses": {"200": _json(schema, "OK"), **ERRORS},
        }
    }


PATHS = {
    "/cycles": _get(
        "Budget cycles",
        "CyclePage",
        params=[{"name": "region", "in": "query", "schema": {"type": "string"}}],
        paged=True,
        operation_id="listCycles",
    ),
    "/cycles/{cycle_id}": _get(
        "One budget cycle", "Cycle", params=[_id("cycle_id")], operation_id="getCycle"
    ),
    "/cycles/{cycle_id}/projects": _get(
        "Proposals of a cycle (votes once results are published)",
        "ProjectPage",
        params=[_id("cycle_id")],
        paged=True,
        operation_id="listProjects",
    ),
    "/cycles/{cycle_id}/headings": _get(
        "Budget headings of a cycle (a city-wide pot, one per district) with their outcome",
        "HeadingList",
        params=[_id("cycle_id")],
        operation_id="listHeadings",
    ),
    "/cycles/{cycle_id}/results": _get(
        "Published results of one budget heading of a cycle (projects paged, most votes "
        "first); without `heading`, the cycle's main heading",
        "Results",
        params=[_id("cycle_id"), HEADING_PARAMETER, *RESULT_PAGE_PARAMETERS],
        operation_id="getResults",
    ),
    "/cycles/{cycle_id}/ledger": _get(
        "The public ballot ledger's head: size, root hash, algorithm",
        "LedgerHead",
        params=[_id("cycle_id")],
        operation_id="getLedgerHead",
    ),
    "/cycles/{cycle_id}/ledger/proof": _get(
        "A ballot's ledger entry and its audit path, by receipt code (404: unknown code)",
        "LedgerProof",
        params=[
            _id("cycle_id"),
            {"name": "receipt", "in": "query", "required": True, "schema": {"type": "string"}},
        ],
        operation_id="getLedgerProof",
    ),
    "/cycles/{cycle_id}/ledger/leaves": _get(
        "Every ledger entry in order, once voting has closed (404 before)",
        "LedgerLeaves",
        params=[_id("cycle_id")],
        operation_id="listLedgerLeaves",
    ),
    "/cycles/{cycle_id}/verification": _get(
        "Rules, costs and every published result version, for independent recounts",
        "Verification",
        params=[_id("cycle_id")],
        operation_id="getVerification",
    ),
    "/cycles/{cycle_id}/ballots.pb": {
        "get": {
            "operationId": "getBallotsPb",
            "summary": "The anonymised ballots as a pabulib .pb file, once voting has closed",
            "parameters": [_id("cycle_id")],
            "responses": {
                "200": {
                    "description": "OK",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                },
                **ERRORS,
            },
        }
    },
    "/drafts": _get(
        "Draft laws under discussion", "DraftPage", paged=True, operation_id="listDrafts"
    ),
    "/drafts/{draft_id}": _get(
        "One draft", "Draft", params=[_id("draft_id")], operation_id="getDraft"
    ),
    "/drafts/{draft_id}/articles": _get(
        "Articles of a draft",
        "ArticlePage",
        params=[_id("draft_id")],
        paged=True,
        operation_id="listArticles",
    ),
    "/drafts/{draft_id}/comments": _get(
        "Published comments of a draft with the agency's answers",
        "CommentPage",
        params=[
            _id("draft_id"),
            {"name": "article", "in": "query", "schema": {"type": "integer", "minimum": 1}},
        ],
        paged=True,
        operation_id="listComments",
    ),
    "/drafts/{draft_id}/summary": _get(
        "The summary table of a draft (published comments and decisions, article order)",
        "SummaryRowPage",
        params=[_id("draft_id")],
        paged=True,
        operation_id="getSummary",
    ),
}


def document(server_url="/api/v1"):
    """The OpenAPI 3.1 document; `server_url` is the API's base URL."""
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": DIALECT,
        "info": {
            "title": "Tynda open data",
            "version": "1.0.0",
            "description": (
                "Read-only public data of Tynda: participatory budgeting cycles, projects and "
                "results; draft laws, their articles, published comments and answers. "
                "No personal data."
            ),
            "license": {"name": "CC BY 4.0", "identifier": "CC-BY-4.0"},
        },
        "servers": [{"url": server_url}],
        "paths": PATHS,
        "components": {"schemas": SCHEMAS},
    }
