//! Microsoft Teams incoming webhooks, as Power Automate's "When a Teams webhook request is
//! received" workflow takes them
//! (<https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/add-incoming-webhook>):
//! a JSON POST of a `message` whose attachment is an Adaptive Card
//! (<https://adaptivecards.io/explorer/>, schema 1.4).
//!
//! Answers: 202 Accepted (a workflow) or 200 (a legacy Office 365 connector); 400 (a card the
//! flow cannot read), 401/403 (the URL's `sig` is wrong or the flow is off), 404 (the workflow
//! was deleted), 429 with `Retry-After`, 5xx. Each is a failed delivery, retried by the outbox.
//!
//! The URL carries its credential in the query (`sig=`): it is a secret, redacted from every
//! message. Text blocks are plain: `wrap` on, no markdown from the notice is interpreted
//! beyond what Teams does with text.

use super::Notice;
use crate::error::Result;
use crate::http::{Request, Service};
use serde_json::{Value, json};

/// The Adaptive Card message of `notice`.
pub fn message(notice: &Notice) -> Value {
    let facts: Vec<Value> = notice
        .facts()
        .into_iter()
        .map(|(title, value)| json!({"title": title, "value": value}))
        .collect();
    let mut body = vec![
        json!({"type": "TextBlock", "size": "Large", "weight": "Bolder", "wrap": true, "text": notice.headline}),
        json!({"type": "FactSet", "facts": facts}),
    ];
    for line in &notice.lines {
        body.push(json!({"type": "TextBlock", "wrap": true, "spacing": "None", "text": line}));
    }
    body.push(
        json!({"type": "TextBlock", "isSubtle": true, "size": "Small", "wrap": true,
        "text": format!("{} · {}", notice.by, notice.at.format("%Y-%m-%d %H:%M:%S UTC"))}),
    );
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
            }
        }]
    })
}

/// Posts the card; 200 or 202 is success.
pub(super) async fn post(service: &Service, request: Request) -> Result<()> {
    service.send(request).await.map(|_| ())
}
