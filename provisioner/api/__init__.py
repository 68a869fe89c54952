"""The API boundary: the only package that speaks HTTP or reads and writes API JSON.

* `client`: the HTTP client (retries, never a blind re-POST) returning typed wire models;
* `wire`: pydantic models of the telephony requests and responses, checked against the spec;
* `codec`: wire models ⇄ canonical values (`provisioner.state`), and request composition;
* `live`: `LiveState` (decoded live values) and `observe`, which reads it;
* `send`: the writes apply executes, each followed by its read-back.
"""
