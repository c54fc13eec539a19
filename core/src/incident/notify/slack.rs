//! Slack incoming webhooks (<https://api.slack.com/messaging/webhooks>): a JSON POST to the
//! webhook URL with a Block Kit message (<https://api.slack.com/reference/block-kit/blocks>)
//! and `text` as the fallback shown in notifications.
//!
//! Answers: 200 with the body `ok`; 400 `invalid_payload` or `invalid_blocks` (a message Slack
//! cannot read), 403 `action_prohibited` (an admin restricted the app), 404
//! `channel_not_found` / `no_service` (the webhook was revoked), 410 `channel_is_archived`,
//! 429 with `Retry-After` (rate limit: about one message per second per webhook), 5xx. Each is
//! a failed delivery, retried by the outbox with backoff.
//!
//! Limits followed: a `header` block's text is at most 150 characters, a `section` text at most
//! 3000. In `mrkdwn` text, `&`, `<` and `>` are escaped (<https://api.slack.com/reference/surfaces/formatting#escaping>),
//! so a name or message from a server never becomes a link or a mention.

use super::Notice;
use crate::error::Result;
use crate::http::{Request, Service};
use serde_json::{Value, json};

const HEADER_MAX: usize = 150;
const SECTION_MAX: usize = 3000;

/// Slack's escaping of text in `mrkdwn`.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `text` cut to at most `max` characters (with an ellipsis when cut).
pub(super) fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The Block Kit message of `notice`.
pub fn message(notice: &Notice) -> Value {
    let fields: Vec<Value> = notice
        .facts()
        .into_iter()
        .map(|(name, value)| json!({"type": "mrkdwn", "text": format!("*{name}*\n{}", escape(&value))}))
        .collect();
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": cut(&notice.headline, HEADER_MAX)}}),
        json!({"type": "section", "fields": fields}),
    ];
    if !notice.lines.is_empty() {
        let lines: Vec<String> = notice.lines.iter().map(|l| escape(l)).collect();
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": cut(&lines.join("\n"), SECTION_MAX)}}));
    }
    blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": escape(&format!("{} · {}", notice.by, notice.at.format("%Y-%m-%d %H:%M:%S UTC")))}]}));
    json!({"text": notice.headline, "blocks": blocks})
}

/// Posts the message; Slack's `ok` answer is success.
pub(super) async fn post(service: &Service, request: Request) -> Result<()> {
    service.send(request).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_servers_cannot_become_links_or_mentions() {
        assert_eq!(
            escape("<!channel> & <http://evil|click>"),
            "&lt;!channel&gt; &amp; &lt;http://evil|click&gt;"
        );
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 4), "abc");
    }
}
