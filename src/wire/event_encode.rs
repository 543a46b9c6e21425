//! Writing accepted core events back as schema-1 JSON lines: what the snapshot feeds derive
//! (`crate::wire::feed`) goes on through the one accept path, exactly as a vendor's own events.
//!
//! Only the kinds a snapshot can derive are written; [`encode`] returns `None` for the others.

use serde_json::{json, Map, Value};

use crate::core::event::{Channel, DueSpec, Ending, PaymentMethod};
use crate::core::{Event, EventKind, Registry};

/// One event as a JSON object on one line; `None` for a kind no feed derives.
pub fn encode(registry: &Registry, ev: &Event<'_>) -> Option<String> {
    let mut o = Map::new();
    o.insert("event_id".into(), json!(ev.id));
    o.insert(
        "occurred_at".into(),
        json!(ev.occurred_at.to_local_rfc3339()),
    );
    o.insert("agency_id".into(), json!(registry.get(ev.agency).id));
    o.insert("dossier_id".into(), json!(ev.dossier));
    if let Some(p) = &ev.procedure {
        o.insert("procedure_id".into(), json!(p));
    }
    let kind = match &ev.kind {
        EventKind::Received(r) => {
            let DueSpec::At(due) = r.due else {
                return None;
            };
            o.insert("due_at".into(), json!(due.to_local_rfc3339()));
            let channel = match r.channel {
                Channel::Direct => "direct",
                Channel::Online => "online",
                Channel::Postal => "postal",
            };
            o.insert("channel".into(), json!(channel));
            for (name, on) in [
                ("via_national_portal", r.via_national_portal),
                ("fee_required", r.fee_required),
                ("digitized", r.digitized),
                ("reused_data", r.reused_data),
                ("citizen_storage", r.citizen_storage),
            ] {
                if on {
                    o.insert(name.into(), Value::Bool(true));
                }
            }
            "received"
        }
        EventKind::SupplementRequested => "supplement_requested",
        EventKind::SupplementReceived { due_at } => {
            if let Some(d) = due_at {
                o.insert("due_at".into(), json!(d.to_local_rfc3339()));
            }
            "supplement_received"
        }
        EventKind::Processed {
            outcome,
            electronic_result,
        } => {
            let outcome = match outcome {
                Ending::Completed => "completed",
                Ending::Stopped => "stopped",
            };
            o.insert("outcome".into(), json!(outcome));
            o.insert("electronic_result".into(), json!(electronic_result));
            "processed"
        }
        EventKind::Returned => "returned",
        EventKind::Withdrawn => "withdrawn",
        EventKind::Rejected => {
            o.insert("reason".into(), json!("refused at intake"));
            "rejected"
        }
        EventKind::Payment { method } => {
            let method = match method {
                PaymentMethod::NationalPortal => "national_portal",
                PaymentMethod::ProvincialGateway => "provincial_gateway",
                PaymentMethod::Offline => "offline",
            };
            o.insert("method".into(), json!(method));
            "payment"
        }
        EventKind::Synced => "synced",
        _ => return None,
    };
    o.insert("type".into(), json!(kind));
    Some(Value::Object(o).to_string())
}
