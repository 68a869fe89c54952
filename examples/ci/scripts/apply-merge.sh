#!/usr/bin/env bash
# The merge job: apply the plan that was reviewed on the pull/merge request, nothing else.
#
# Environment: COMMIT (the commit on the main branch, e.g. github.sha), ELEVENLABS_API_KEY and
# every ${VAR} secret the manifest uses, TELEPHONY_MANIFEST (default telephony.yaml), and what
# forge.sh needs. The plan comes from the request's plan job (its artifact): `telephony apply
# PLANFILE` refuses it (exit 5, nothing sent) when the manifest or the live workspace moved since,
# e.g. a dashboard edit after the review. Then a fresh plan is posted on the request and the job
# fails: the new plan needs a review of its own (merge a pull request that accepts or undoes it).
#
# Exit: telephony apply's (0 applied, 1 error, 3 refused by a safety rule, 4 partial, 5 stale
# plan, 6 read-back mismatch); 1 too when no reviewed plan is found.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=forge.sh
. "$here/forge.sh"

manifest=${TELEPHONY_MANIFEST:-telephony.yaml}
commit=${COMMIT:?COMMIT (the merged commit) is not set}
request=$(forge_request_for_commit "$commit")
[ -n "$request" ] || die "commit $commit came from no merged pull/merge request: there is no reviewed plan to apply"
dir=$(mktemp -d)
forge_download_plan "$request" "$dir"
[ -f "$dir/telephony.plan" ] || die "the plan artifact of #$request holds no telephony.plan"

code=0
telephony apply -f "$manifest" "$dir/telephony.plan" || code=$?
if [ "$code" = 5 ]; then
  # Stale: nothing was applied. Show the request what a plan says now.
  fresh=$(mktemp)
  # Loaded as the reviewed plan was: its --env and --var are recorded in the plan file.
  env_args=()
  env=$(jq -r '.manifest.env // empty' "$dir/telephony.plan")
  if [ -n "$env" ]; then env_args=(--env "$env"); fi
  while IFS= read -r pair; do
    if [ -n "$pair" ]; then env_args+=(--var "$pair"); fi
  done < <(jq -r '.manifest.vars // {} | to_entries[] | "\(.key)=\(.value)"' "$dir/telephony.plan")
  {
    printf '**telephony apply refused the reviewed plan: the workspace or the manifest changed since it was made.** '
    printf 'Nothing was applied (commit %s). A plan made now is below; it needs a review of its own: ' "$commit"
    printf 'merge a pull request that accepts or undoes the change.\n\n'
    telephony plan -f "$manifest" "${env_args[@]}" --format markdown || true
  } >"$fresh"
  forge_post_comment "$request" "$fresh"
  if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then cat "$fresh" >>"$GITHUB_STEP_SUMMARY"; fi
fi
exit "$code"
