//! The mailserver role beside a running node (11/WAKU-MAILSERVER): every
//! event of the node goes to the [`MailserverRole`], its replies back to
//! the node, its timer in between (the loop of `status_mailserver::role`).

use std::time::Duration;

use status_driver::os;
use status_mailserver::{Archive, MailserverRole};
use status_node::Event;
use status_tokio::NodeHandle;

/// Runs `role` beside `node` until the node stops, then flushes the
/// archive. Each node event is handed to `on_event` after the role saw it
/// (logs, JSON lines). Archive errors are logged and the role goes on
/// (it keeps what it could not write, up to its bound).
pub async fn run<A: Archive>(
    node: NodeHandle,
    mut role: MailserverRole<A>,
    mut on_event: impl FnMut(&Event),
) -> MailserverRole<A> {
    loop {
        let wait = role.poll_timeout().map(|(t, _)| {
            Duration::from_millis(t.as_millis().saturating_sub(os::now().as_millis()))
        });
        let replies = tokio::select! {
            e = node.recv() => {
                let Some(e) = e else { break };
                let r = role.handle_event(os::now(), &e);
                on_event(&e);
                match r {
                    Ok(replies) => replies,
                    Err(e) => {
                        tracing::warn!(error = %e, "archive");
                        Vec::new()
                    }
                }
            }
            _ = tokio::time::sleep(wait.unwrap_or(Duration::from_secs(3600))), if wait.is_some() => {
                if let Err(e) = role.handle_timeout(os::now()) {
                    tracing::warn!(error = %e, "archive");
                }
                Vec::new()
            }
        };
        if !replies.is_empty() {
            let _ = node
                .call(move |n, now| {
                    for reply in replies {
                        // a peer that left meanwhile is no error
                        let _ = reply.apply(n, now);
                    }
                })
                .await;
        }
    }
    if let Err(e) = role.flush() {
        tracing::warn!(error = %e, "archive flush");
    }
    role
}
