#!/usr/bin/env bash
# The pull/merge request job: validate, plan, check the plan's secrets exist in CI, comment.
#
# Environment: ELEVENLABS_API_KEY (absent on a fork's pull request: then the plan runs against
# the built-in sandbox and the comment says the live plan runs after approval), REQUEST (the
# pull/merge request number), TELEPHONY_MANIFEST (default telephony.yaml), TELEPHONY_ENV (the
# manifest's environment, if it has several), TELEPHONY_SECRETS_ENV (the CI environment whose
# secrets the apply job gets, e.g. production), TELEPHONY_OUT (default telephony-plan: the
# directory the workflow uploads as the `telephony-plan` artifact), and what forge.sh needs.
# Nothing but the API key: the ${VAR} secrets are checked by name, their values are never here.
#
# Exit: 0 no changes or changes (the comment shows them), 1 invalid manifest, a failed plan or a
# missing CI secret, 3 the plan is blocked by a safety rule (commented, so the reviewer sees why).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=forge.sh
. "$here/forge.sh"

manifest=${TELEPHONY_MANIFEST:-telephony.yaml}
out=${TELEPHONY_OUT:-telephony-plan}
request=${REQUEST:?REQUEST (the pull/merge request number) is not set}
env_args=()
if [ -n "${TELEPHONY_ENV:-}" ]; then env_args=(--env "$TELEPHONY_ENV"); fi
mkdir -p "$out"

# 1. Offline checks; located errors become annotations on the diff. No secrets here by design,
#    so unset ${VAR}s are not errors: step 3 checks the CI has each one the plan needs.
annotations=$([ "$TELEPHONY_FORGE" = github ] && echo github || echo text)
telephony validate --strict --ignore-unset --format "$annotations" "${env_args[@]}" "$manifest"

# 2. The plan. Live: saved in $out for the merge job to apply exactly this. A fork's request
#    has no API key: the sandbox shows what the manifest does, and no plan file is kept.
if [ -n "${ELEVENLABS_API_KEY:-}" ]; then
  mode=live
  planfile=$out/telephony.plan
else
  mode=sandbox
  planfile=$(mktemp -d)/sandbox.plan
  sandbox=(--sandbox)
fi
code=0
telephony plan -f "$manifest" "${env_args[@]}" ${sandbox[@]+"${sandbox[@]}"} --out "$planfile" \
  --format json --detailed-exitcode >"$out/plan.json" || code=$?
case $code in
  0 | 2 | 3) ;;
  *) die "telephony plan failed (exit $code); see the job log" ;;
esac
telephony show "$planfile" --format markdown >"$out/plan.md"

# 3. Each ${VAR} the plan will send must exist, by name, among the CI secrets apply gets.
missing=()
if [ "$mode" = live ]; then
  if jq -e 'has("secrets")' "$out/plan.json" >/dev/null; then
    available=$(forge_secret_names "${TELEPHONY_SECRETS_ENV:-}") || die "cannot list the CI secrets' names (the token needs read access to secrets)"
    while IFS= read -r name; do
      if [ -n "$name" ] && ! grep -qxF -- "$name" <<<"$available"; then missing+=("$name"); fi
    done < <(jq -r '.secrets.needed[]' "$out/plan.json")
  else
    echo "warning: this telephony version's plan does not list the secrets it needs; not checked" >&2
  fi
fi

# 4. One comment per request and manifest, found by the marker on the markdown's first line.
body=$(mktemp)
cp "$out/plan.md" "$body"
if [ "$mode" = sandbox ]; then
  cat >>"$body" <<'NOTE'

> **Sandbox plan.** This job has no API key (a fork's request gets no secrets), so the plan above
> ran against the built-in sandbox (an empty emulated workspace), not the live one. The live plan
> runs after a maintainer approves it (the `telephony-fork-plan` environment), and only a live
> plan can be applied on merge.
NOTE
fi
if [ ${#missing[@]} -gt 0 ]; then
  {
    printf '\n> **Missing CI secrets.** Apply needs'
    printf ' \x60%s\x60' "${missing[@]}"  # `NAME`: a code span
    printf ', which the CI secrets%s do not hold. Add them before merging.\n' \
      "${TELEPHONY_SECRETS_ENV:+ of the ${TELEPHONY_SECRETS_ENV} environment}"
  } >>"$body"
fi
cat "$body"  # the job log has it too (a fork's GitLab job may have no token to post it)
forge_upsert_comment "$request" "$body"
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then cat "$body" >>"$GITHUB_STEP_SUMMARY"; fi

if [ ${#missing[@]} -gt 0 ]; then
  die "missing CI secret(s): ${missing[*]} (the plan needs them; apply would fail)"
fi
if [ "$code" = 3 ]; then
  die "the plan is blocked by a safety rule; see the plan comment"
fi
