#!/usr/bin/env bash
# The nightly drift job: one issue per environment and manifest, opened on drift, updated while
# it lasts, closed when it is gone.
#
# Environment: ELEVENLABS_API_KEY only (drift reads; write-only secrets cannot be compared, so
# the ${VAR} values are not needed), TELEPHONY_MANIFEST (default
# telephony.yaml), TELEPHONY_ENV, TELEPHONY_DRIFT_FLAGS (default --fail-on-unmanaged: a number
# bought or imported by hand, which the manifest does not declare, is drift too; set it empty to
# let such numbers be), and what forge.sh needs. The issue is found by the markdown's first line,
# `<!-- telephony:drift env=ENV manifest=PATH -->`.
#
# Exit: 0 in sync or drift recorded in the issue (the issue is the alert, not a red run every
# night), 1 an error (the API or the manifest): that is what a failed run means.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=forge.sh
. "$here/forge.sh"

manifest=${TELEPHONY_MANIFEST:-telephony.yaml}
env_args=()
if [ -n "${TELEPHONY_ENV:-}" ]; then env_args=(--env "$TELEPHONY_ENV"); fi
read -r -a flags <<<"${TELEPHONY_DRIFT_FLAGS---fail-on-unmanaged}"
report=$(mktemp)

code=0
telephony drift -f "$manifest" "${env_args[@]}" ${flags[@]+"${flags[@]}"} --format markdown >"$report" || code=$?
case $code in
  0 | 2) ;;
  *) die "telephony drift failed (exit $code); see the job log" ;;
esac
marker=$(head -n 1 "$report")
issue=$(forge_find_issue "$marker")
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then cat "$report" >>"$GITHUB_STEP_SUMMARY"; fi

if [ "$code" = 2 ]; then
  if [ -n "$issue" ]; then
    forge_update_issue "$issue" "$report"
    echo "drift: updated issue #$issue"
  else
    issue=$(forge_open_issue "telephony drift: ${TELEPHONY_ENV:-default} ($manifest)" "$report")
    echo "drift: opened issue #$issue"
  fi
elif [ -n "$issue" ]; then
  note=$(mktemp)
  printf 'No drift any more: the live workspace matches %s (checked %s). Closing.\n' \
    "$manifest" "$(date -u +%Y-%m-%dT%H:%MZ)" >"$note"
  forge_close_issue "$issue" "$note"
  echo "drift: gone; closed issue #$issue"
else
  echo "drift: none"
fi
