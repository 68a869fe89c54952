# shellcheck shell=bash
# What the telephony CI scripts ask of the code host, for GitHub (`gh`) and GitLab (`glab`).
#
# Sourced by plan-pr.sh, apply-merge.sh and drift-issue.sh. The forge is GitLab under GitLab CI
# (GITLAB_CI=true), else GitHub; TELEPHONY_FORGE=github|gitlab overrides. Every call goes through
# `gh api` / `glab api` (plus `gh secret list`, `glab variable list`, `gh run download`) so the
# same functions run against the fake CLIs of the project's tests.
#
# GitHub needs GITHUB_REPOSITORY and GH_TOKEN; GitLab needs CI_PROJECT_ID and GITLAB_TOKEN (a
# project access token: CI_JOB_TOKEN can neither post notes nor list variables).

TELEPHONY_FORGE=${TELEPHONY_FORGE:-$([ "${GITLAB_CI:-}" = true ] && echo gitlab || echo github)}
# GitHub refuses comment and issue bodies over 65,536 characters; GitLab notes allow 1,000,000.
TELEPHONY_MAX_BODY=${TELEPHONY_MAX_BODY:-60000}

die() {
  if [ "$TELEPHONY_FORGE" = github ]; then echo "::error::$*" >&2; else echo "error: $*" >&2; fi
  exit 1
}

# fit_body FILE: FILE cut to the forge's limit, with a line that says where the rest is.
fit_body() {
  local size
  size=$(wc -c <"$1")
  if [ "$size" -gt "$TELEPHONY_MAX_BODY" ]; then
    head -c "$TELEPHONY_MAX_BODY" "$1" >"$1.cut"
    printf '\n\n… (cut at %s characters; the whole report is in the job log and its artifact)\n' \
      "$TELEPHONY_MAX_BODY" >>"$1.cut"
    mv "$1.cut" "$1"
  fi
}

_project() { printf '%s' "${CI_PROJECT_ID:?CI_PROJECT_ID is not set}"; }
_repo() { printf '%s' "${GITHUB_REPOSITORY:?GITHUB_REPOSITORY is not set}"; }

# forge_secret_names [ENVIRONMENT]: the names of the CI secrets a job can use, one a line.
# Names only: `gh secret list` never returns values; of GitLab's variables only the key is kept.
forge_secret_names() {
  local environment=${1:-}
  if [ "$TELEPHONY_FORGE" = github ]; then
    # Listing needs a token that may read secrets (names only): the workflow token may not.
    local token=${TELEPHONY_SECRETS_TOKEN:-${GH_TOKEN:-}}
    GH_TOKEN=$token gh secret list --json name --jq '.[].name'
    # An environment's secrets come on top of the repository's in a job that uses it.
    if [ -n "$environment" ]; then GH_TOKEN=$token gh secret list --env "$environment" --json name --jq '.[].name'; fi
  else
    # A variable scoped to another environment is not available to this one's jobs. Only keys
    # are kept. Some glab versions print text lines before the JSON (gitlab-org/cli#8127): the
    # sed starts at the array. One page of 100 (a manifest with more secrets is unlikely).
    glab variable list --output json --per-page 100 | sed -n '/^\[/,$p' |
      jq -r --arg e "${environment:-*}" '.[] | select(.environment_scope == "*" or .environment_scope == $e) | .key'
  fi
}

# forge_find_comment PR MARKER: the id of the pull/merge request's comment that starts with MARKER.
forge_find_comment() {
  if [ "$TELEPHONY_FORGE" = github ]; then
    gh api --paginate "repos/$(_repo)/issues/$1/comments" |
      jq -r --arg m "$2" '.[] | select(.body | startswith($m)) | .id' | sed -n 1p
  else
    glab api --paginate "projects/$(_project)/merge_requests/$1/notes?per_page=100" |
      jq -r --arg m "$2" '.[] | select(.body | startswith($m)) | .id' | sed -n 1p
  fi
}

# forge_post_comment PR FILE: a new comment.
forge_post_comment() {
  fit_body "$2"
  if [ "$TELEPHONY_FORGE" = github ]; then
    gh api --method POST "repos/$(_repo)/issues/$1/comments" -F "body=@$2" >/dev/null
  else
    glab api --method POST "projects/$(_project)/merge_requests/$1/notes" -F "body=@$2" >/dev/null
  fi
}

# forge_upsert_comment PR FILE: update the comment that starts with FILE's first line (the
# telephony marker), or post one: a pull request keeps one plan comment, not one per push.
forge_upsert_comment() {
  local id
  fit_body "$2"
  id=$(forge_find_comment "$1" "$(head -n 1 "$2")")
  if [ -z "$id" ]; then
    forge_post_comment "$1" "$2"
  elif [ "$TELEPHONY_FORGE" = github ]; then
    gh api --method PATCH "repos/$(_repo)/issues/comments/$id" -F "body=@$2" >/dev/null
  else
    glab api --method PUT "projects/$(_project)/merge_requests/$1/notes/$id" -F "body=@$2" >/dev/null
  fi
}

# forge_find_issue MARKER: the number of the open issue whose body starts with MARKER.
forge_find_issue() {
  if [ "$TELEPHONY_FORGE" = github ]; then
    gh api --paginate "repos/$(_repo)/issues?state=open&per_page=100" |
      jq -r --arg m "$1" '.[] | select(.pull_request == null and ((.body // "") | startswith($m))) | .number' |
      sed -n 1p
  else
    glab api --paginate "projects/$(_project)/issues?state=opened&per_page=100" |
      jq -r --arg m "$1" '.[] | select((.description // "") | startswith($m)) | .iid' | sed -n 1p
  fi
}

# forge_open_issue TITLE FILE: a new issue; prints its number.
forge_open_issue() {
  fit_body "$2"
  if [ "$TELEPHONY_FORGE" = github ]; then
    gh api --method POST "repos/$(_repo)/issues" -f "title=$1" -F "body=@$2" | jq -r .number
  else
    glab api --method POST "projects/$(_project)/issues" -f "title=$1" -F "description=@$2" | jq -r .iid
  fi
}

# forge_update_issue NUMBER FILE: replace the issue's body.
forge_update_issue() {
  fit_body "$2"
  if [ "$TELEPHONY_FORGE" = github ]; then
    gh api --method PATCH "repos/$(_repo)/issues/$1" -F "body=@$2" >/dev/null
  else
    glab api --method PUT "projects/$(_project)/issues/$1" -F "description=@$2" >/dev/null
  fi
}

# forge_close_issue NUMBER FILE: comment FILE on the issue, then close it.
forge_close_issue() {
  if [ "$TELEPHONY_FORGE" = github ]; then
    gh api --method POST "repos/$(_repo)/issues/$1/comments" -F "body=@$2" >/dev/null
    gh api --method PATCH "repos/$(_repo)/issues/$1" -f state=closed >/dev/null
  else
    glab api --method POST "projects/$(_project)/issues/$1/notes" -F "body=@$2" >/dev/null
    glab api --method PUT "projects/$(_project)/issues/$1" -f state_event=close >/dev/null
  fi
}

# forge_request_for_commit SHA: the number of the merged pull/merge request that made commit SHA.
forge_request_for_commit() {
  if [ "$TELEPHONY_FORGE" = github ]; then
    gh api "repos/$(_repo)/commits/$1/pulls" | jq -r '[.[] | select(.merged_at != null)][0].number // empty'
  else
    glab api "projects/$(_project)/repository/commits/$1/merge_requests" |
      jq -r '[.[] | select(.state == "merged")][0].iid // empty'
  fi
}

# forge_download_plan REQUEST DIR: the plan artifact of the request's head commit, into DIR.
# GitHub: the artifact `telephony-plan-REQUEST-HEADSHA` (plan-pr's upload), from a run in this
# repository (a fork's `pull_request` run could upload one of that name too: its runs are not
# used). GitLab: the newest pipeline of the merge request, its job `telephony-plan`'s artifact.
forge_download_plan() {
  if [ "$TELEPHONY_FORGE" = github ]; then
    local head name run
    head=$(gh api "repos/$(_repo)/pulls/$1" | jq -r .head.sha)
    name=telephony-plan-$1-$head
    run=$(gh api "repos/$(_repo)/actions/artifacts?name=$name&per_page=100" |
      jq -r '[.artifacts[] | select((.expired | not) and .workflow_run.head_repository_id == .workflow_run.repository_id)]
             | sort_by(.created_at) | reverse | .[0].workflow_run.id // empty')
    [ -n "$run" ] || die "no plan artifact '$name' for pull request #$1: nothing reviewed to apply (a fork's sandbox plan, a failed or blocked plan, or it expired)"
    gh run download "$run" --repo "$(_repo)" --name "$name" --dir "$2"
  else
    local pipeline job
    pipeline=$(glab api "projects/$(_project)/merge_requests/$1/pipelines" | jq -r '.[0].id // empty')
    [ -n "$pipeline" ] || die "merge request !$1 has no pipeline: nothing reviewed to apply"
    job=$(glab api "projects/$(_project)/pipelines/$pipeline/jobs?scope[]=success" |
      jq -r '[.[] | select(.name == "telephony-plan")][0].id // empty')
    [ -n "$job" ] || die "pipeline $pipeline of !$1 has no successful telephony-plan job: nothing reviewed to apply"
    mkdir -p "$2"
    glab api "projects/$(_project)/jobs/$job/artifacts/telephony-plan/telephony.plan" >"$2/telephony.plan"
  fi
}
