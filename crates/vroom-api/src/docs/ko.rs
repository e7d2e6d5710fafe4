//! The Korean text of the document: operation summaries, tags and the overview, keyed by
//! operation id. Anything without a translation stays English.

use serde_json::{Value, json};

use super::Doc;

const INFO: &str = "FlipFlop Cloud 호환 서버 API(`/v2/apps/me`, `/v2/vicollo-apps/me`에서도 동일)와 멤버 API\
                    (`/v2/members/me`). 오류 응답은 `{errorCode, errorMessage}`이며 시각은 RFC 3339 UTC입니다.";

fn summary(operation_id: &str) -> Option<&'static str> {
    Some(match operation_id.trim_end_matches("_vicollo_alias") {
        "app_info" => "인증된 앱 정보를 조회합니다.",
        "upsert_member" => "멤버를 생성하거나 수정합니다(없는 필드는 유지, `null`은 삭제).",
        "list_members" => "멤버 목록을 조회합니다.",
        "get_member" => "멤버 한 명을 조회합니다.",
        "patch_member" => "멤버 프로필을 수정합니다.",
        "delete_members" => "멤버를 삭제합니다. 삭제된 멤버의 토큰은 더 이상 쓸 수 없습니다.",
        "login" => "멤버를 생성 또는 수정하고 액세스 토큰과 리프레시 토큰을 발급합니다.",
        "create_room" => "`appUserId` 멤버(기본값: 내장 `admin` 멤버)가 소유한 화상회의 룸을 생성합니다.",
        "list_rooms" => "앱의 화상회의 룸 목록을 조회합니다.",
        "get_room" => "화상회의 룸을 ID로 조회합니다.",
        "get_room_by_uuid" => "화상회의 룸을 UUID로 조회합니다.",
        "patch_room" => "화상회의 룸을 수정합니다.",
        "delete_room" => "화상회의 룸을 삭제합니다.",
        "end_room" => "화상회의 룸을 종료합니다. 이후 입장과 미디어 자격 증명 발급이 불가합니다.",
        "cancel_room" => "아직 `SCHEDULED` 상태인 룸을 취소합니다.",
        "web_rtc_tokens" => "멤버의 미디어 서버 접속 정보를 발급합니다(앱은 신뢰되므로 비밀번호를 확인하지 않음).",
        "embed_url" => "멤버를 로그인시켜 룸에 입장시키는 기본 제공 회의 UI의 URL을 발급합니다.",
        "list_sessions" => "룸의 세션(첫 입장부터 마지막 퇴장까지) 목록을 최신순으로 조회합니다.",
        "list_participants" => "세션 참가자의 입장·퇴장 시각과 사유를 입장순으로 조회합니다.",
        "live_participants" => "지금 룸에 있는 참가자를 조회합니다(승인 대기 중인 참가자 포함).",
        "approve_participant" => "승인 대기 중인 참가자의 입장을 승인합니다.",
        "reject_participant" => "참가자의 입장을 거절하고 룸에서 내보냅니다.",
        "put_callback" => "앱의 웹훅 수신 주소를 등록하거나 교체하고 서명 비밀값을 반환합니다.",
        "get_callback" => "등록된 웹훅 수신 주소를 조회합니다(서명 비밀값 제외).",
        "delete_callback" => "웹훅 수신 주소를 삭제합니다. 대기 중인 전송은 취소됩니다.",
        "list_events" => "이벤트 로그(최소 7일 보관)를 오래된 순으로 조회합니다.",
        "list_deliveries" => "웹훅 전송 로그를 최신순으로 조회합니다.",
        "redeliver" => "이벤트를 현재 수신 주소로 지금 다시 전송합니다.",
        "member_me" => "인증된 멤버 정보를 조회합니다.",
        "member_create_room" => "멤버가 소유한 화상회의 룸을 생성합니다.",
        "member_list_rooms" => "멤버 본인의 룸과 앱의 PUBLIC·MEMBER 룸 목록을 조회합니다.",
        "member_get_room" => "화상회의 룸을 ID로 조회합니다.",
        "member_get_room_by_uuid" => "화상회의 룸을 UUID로 조회합니다.",
        "member_patch_room" => "멤버가 소유한 룸을 수정합니다.",
        "member_delete_room" => "멤버가 소유한 룸을 삭제합니다.",
        "member_web_rtc_tokens" => "룸의 미디어 서버 접속 정보를 발급합니다(소유자가 아니면 비밀번호 확인).",
        "member_refresh_token" => "리프레시 토큰(1회용)으로 새 액세스 토큰과 리프레시 토큰을 발급합니다.",
        "member_list_sessions" => "멤버가 소유한 룸의 세션 목록을 조회합니다.",
        "member_list_participants" => "멤버가 소유한 룸의 세션 참가 기록을 조회합니다.",
        "member_live_participants" => "멤버가 소유한 룸에 지금 있는 참가자를 조회합니다.",
        "member_approve_participant" => "룸 소유자가 승인 대기 중인 참가자의 입장을 승인합니다.",
        "member_reject_participant" => "룸 소유자가 참가자의 입장을 거절합니다.",
        "member_end_room" => "룸 소유자가 룸을 모두에게 종료합니다.",
        "member_remove_participant" => "룸 소유자가 참가자를 룸에서 내보냅니다.",
        "patch_app" => "vroom 확장: 앱 설정(회의 페이지를 iframe으로 표시할 수 있는 사이트)을 변경합니다.",
        "remove_participant" => "vroom 확장: 참가자를 룸에서 내보냅니다(승인 대기 여부와 무관).",
        _ => return None,
    })
}

fn tag(name: &str) -> Option<&'static str> {
    Some(match name {
        "server-api" => "고객사 백엔드용: HTTP Basic apiKey:apiSecret",
        "member-api" => "클라이언트 SDK용: Bearer 멤버 액세스 토큰",
        "webhooks" => "웹훅 수신 주소, 이벤트 로그, 전송 로그(서버 API)",
        _ => return None,
    })
}

/// The operations without a Korean summary (a test requires none).
#[cfg(test)]
pub(super) fn missing(doc: &Doc) -> Vec<String> {
    super::operations(doc)
        .map(|(_, _, op)| op["operationId"].as_str().unwrap_or_default())
        .filter(|id| summary(id).is_none())
        .map(str::to_owned)
        .collect()
}

pub(super) fn apply(doc: &mut Doc) {
    doc["info"]["title"] = json!("vroom 플랫폼 API");
    doc["info"]["description"] = json!(INFO);
    if let Some(tags) = doc["tags"].as_array_mut() {
        for t in tags {
            if let Some(ko) = t["name"].as_str().and_then(tag) {
                t["description"] = json!(ko);
            }
        }
    }
    for (_, _, op) in super::operations_mut(doc) {
        if let Some(ko) = op["operationId"].as_str().and_then(summary) {
            // The English text stays, as the description, for terms the summary names.
            if let Some(Value::String(en)) = op.insert("summary".into(), json!(ko)) {
                op.entry("description").or_insert(json!(en));
            }
        }
    }
}
