//! Group commit for actions running side by side (a protect's parallel steps): their journal
//! writes share transactions instead of each waiting for its own write to disk.
//!
//! Every member of a [`CommitGroup`] runs in its own scope ([`as_member`]). An action a member
//! begins waits until no member is still on its way to one (each is waiting to begin, acting,
//! or done), then all the waiting actions are written `running` in one transaction, and only
//! then are they sent: an action is on disk before anything reaches its target, and a failed
//! write sends none of them. An action's end is kept in memory and written with the group's
//! other ends once none of its actions is still running (or [`ENDS_WAIT`] after it ended, at
//! the latest; or with the next begins): a crash before that leaves the row `running`, which
//! the next paaf reads as `unknown` (check the target), never lost.

use super::{ActionData, ActionKind, ActionRecord, ActionState, Actor, Journal, NewAction};
use super::{PartEnd, StepTag, current_step};
use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;
use tokio::sync::oneshot;

/// How long an action's end may wait in memory for the group's other running actions to end
/// (a flag switched beside a reboot): past it, it is written on its own.
const ENDS_WAIT: Duration = Duration::from_secs(1);

tokio::task_local! {
    /// The group the current task's actions are journaled with (see [`as_member`]).
    static GROUP: GroupMember;
}

/// Members' journal writes committed together (see the module doc).
pub(crate) struct CommitGroup {
    journal: Arc<Journal>,
    state: Mutex<State>,
    /// Itself, for the timer that writes ends left waiting.
    this: Weak<CommitGroup>,
}

/// Where one member is.
#[derive(Default)]
struct Member {
    /// Its actions waiting to be written `running`.
    waiting: usize,
    /// Its actions written `running` and not ended.
    acting: usize,
    done: bool,
}

impl Member {
    /// Neither waiting, acting nor done: on its way to an action, maybe (reading its target).
    fn on_its_way(&self) -> bool {
        !self.done && self.waiting == 0 && self.acting == 0
    }
}

/// An action waiting to be written `running`, and who waits for its id.
struct Begin {
    member: usize,
    actor: Actor,
    kind: ActionKind,
    target: String,
    detail: String,
    data: Option<ActionData>,
    step: Option<StepTag>,
    reply: oneshot::Sender<Result<i64>>,
}

#[derive(Default)]
struct State {
    members: Vec<Member>,
    begins: Vec<Begin>,
    /// Ends not written yet.
    ends: Vec<PartEnd>,
    /// Every end of the group, written or not, for reading an action back as it ended.
    ended: HashMap<i64, PartEnd>,
    /// Each action written `running`: its member and when.
    running: HashMap<i64, (usize, DateTime<Utc>)>,
    /// The actions ended, in the order they ended.
    order: Vec<i64>,
    /// A timer will write the ends waiting.
    timer: bool,
}

impl CommitGroup {
    /// A group of `members` members (numbered from 0) journaling to `journal`.
    pub(crate) fn new(journal: Arc<Journal>, members: usize) -> Arc<CommitGroup> {
        Arc::new_cyclic(|this| CommitGroup {
            journal,
            state: Mutex::new(State {
                members: (0..members).map(|_| Member::default()).collect(),
                ..State::default()
            }),
            this: this.clone(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The actions the group ended, in the order they ended.
    pub(crate) fn ended_actions(&self) -> Vec<i64> {
        self.lock().order.clone()
    }

    /// `action` as it ended in this group, when it did (its end may not be written yet).
    pub(crate) fn as_ended(&self, mut action: ActionRecord) -> ActionRecord {
        if let Some(end) = self.lock().ended.get(&action.id) {
            action.state = end.state;
            action.result = Some(end.result.clone());
            action.error_code = end.error_code.map(str::to_string);
            action.finished_at = Some(end.finished_at);
            action.duration_ms = Some(end.duration_ms);
        }
        action
    }

    /// Writes what is due: the waiting begins (with every end) once no member is on its way
    /// to an action; else the ends once no action runs; else the ends later.
    fn settle(&self, state: &mut State) {
        let live = || state.members.iter().filter(|m| !m.done);
        if !state.begins.is_empty() && !live().any(Member::on_its_way) {
            self.write(state, true);
        } else if !state.ends.is_empty() && !live().any(|m| m.acting > 0) {
            self.write(state, false);
        } else if !state.ends.is_empty() && !state.timer {
            self.write_ends_later(state);
        }
    }

    fn write_ends_later(&self, state: &mut State) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return self.write(state, false);
        };
        state.timer = true;
        let group = self.this.clone();
        runtime.spawn(async move {
            tokio::time::sleep(ENDS_WAIT).await;
            if let Some(group) = group.upgrade() {
                let mut state = group.lock();
                state.timer = false;
                group.write(&mut state, false);
            }
        });
    }

    /// Writes the ends waiting and, with `begins`, the begins waiting, in one transaction,
    /// then answers the begins.
    fn write(&self, state: &mut State, begins: bool) {
        let begins = match begins {
            true => std::mem::take(&mut state.begins),
            false => Vec::new(),
        };
        let ends = std::mem::take(&mut state.ends);
        if begins.is_empty() && ends.is_empty() {
            return;
        }
        let rows: Vec<(&Actor, NewAction<'_>, Option<StepTag>)> = begins
            .iter()
            .map(|b| {
                let action = NewAction::new(b.kind, &b.target, &b.detail);
                let action = match &b.data {
                    Some(data) => action.with_data(data.clone()),
                    None => action,
                };
                (&b.actor, action, b.step.clone())
            })
            .collect();
        let now = Utc::now();
        let written = self.journal.write_together(&ends, &rows);
        drop(rows);
        let ids = match written {
            Ok(ids) => ids,
            Err(e) => {
                if !ends.is_empty() {
                    tracing::error!("could not record the end of {} actions: {e}", ends.len());
                }
                // Kept for the next write: the group's last one at the latest.
                state.ends.extend(ends);
                for b in begins {
                    state.members[b.member].waiting -= 1;
                    let _ = b.reply.send(Err(not_started(&e, b.kind, &b.target)));
                }
                return;
            }
        };
        for (b, id) in begins.into_iter().zip(ids) {
            state.members[b.member].waiting -= 1;
            if b.reply.send(Ok(id)).is_ok() {
                state.members[b.member].acting += 1;
                state.running.insert(id, (b.member, now));
            } else {
                // Its member gave up waiting (cancelled): nothing will be sent.
                state.ends.push(PartEnd {
                    id,
                    state: ActionState::Failed,
                    result: "not started: cancelled before anything was sent".into(),
                    error_code: Some("cancelled"),
                    finished_at: now,
                    duration_ms: 0,
                });
            }
        }
        if !state.ends.is_empty() && !state.timer {
            self.write_ends_later(state);
        }
    }
}

impl Drop for CommitGroup {
    fn drop(&mut self) {
        let mut state = std::mem::take(&mut *self.lock());
        self.write(&mut state, false);
    }
}

/// One member of a [`CommitGroup`], as the actions of its scope see it.
#[derive(Clone)]
pub(crate) struct GroupMember {
    group: Arc<CommitGroup>,
    index: usize,
}

/// Runs `work` as member `index` of `group`: the actions it journals through
/// [`GroupMember::begin`] and [`GroupMember::end`] are written with the other members'. The
/// member is done when `work` ends or is dropped.
pub(crate) async fn as_member<F: std::future::Future>(
    group: Arc<CommitGroup>,
    index: usize,
    work: F,
) -> F::Output {
    let member = GroupMember { group, index };
    let _done = Done(member.clone());
    GROUP.scope(member, work).await
}

/// The member of a group the current task runs as, if any.
pub(crate) fn member() -> Option<GroupMember> {
    GROUP.try_with(GroupMember::clone).ok()
}

struct Done(GroupMember);

impl Drop for Done {
    fn drop(&mut self) {
        let group = &self.0.group;
        let mut state = group.lock();
        state.members[self.0.index].done = true;
        group.settle(&mut state);
    }
}

impl GroupMember {
    /// The group.
    pub(crate) fn group(&self) -> &CommitGroup {
        &self.group
    }

    /// Records `action` as `running` (by `actor`, for the current step) together with the
    /// other members' actions; returns its id once it is on disk. On error nothing may be
    /// sent.
    pub(crate) async fn begin(&self, actor: &Actor, action: &NewAction<'_>) -> Result<i64> {
        let (reply, answer) = oneshot::channel();
        {
            let mut state = self.group.lock();
            state.members[self.index].waiting += 1;
            state.begins.push(Begin {
                member: self.index,
                actor: actor.clone(),
                kind: action.kind,
                target: action.target.to_string(),
                detail: action.detail.to_string(),
                data: action.data.clone(),
                step: current_step(),
                reply,
            });
            self.group.settle(&mut state);
        }
        answer.await.unwrap_or_else(|_| {
            Err(Error::other(
                "the journal's group write was abandoned, so nothing was sent",
            ))
        })
    }

    /// Ends action `id` (begun with [`GroupMember::begin`]) in `state`; written with the
    /// group's other ends.
    pub(crate) fn end(
        &self,
        id: i64,
        state: ActionState,
        result: &str,
        error_code: Option<&'static str>,
    ) {
        let mut group = self.group.lock();
        let now = Utc::now();
        let (member, began) = group.running.remove(&id).unwrap_or((self.index, now));
        let acting = &mut group.members[member].acting;
        *acting = acting.saturating_sub(1);
        let end = PartEnd {
            id,
            state,
            result: result.to_string(),
            error_code,
            finished_at: now,
            duration_ms: (now - began).num_milliseconds().max(0) as u64,
        };
        group.ended.insert(id, end.clone());
        group.order.push(id);
        group.ends.push(end);
        self.group.settle(&mut group);
    }
}

/// The error of a begin that could not be written: nothing was sent.
fn not_started(e: &Error, kind: ActionKind, target: &str) -> Error {
    let reason = match e {
        Error::Journal { reason, .. } => reason.clone(),
        other => other.to_string(),
    };
    let path = match e {
        Error::Journal { path, .. } => path.clone(),
        _ => Default::default(),
    };
    Error::Journal {
        path,
        reason: format!(
            "cannot record that {kind} {target} starts ({reason}), so nothing was sent; check that the journal's file and disk are writable, then try again"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::tests::actor;
    use rusqlite::Connection;

    /// Begins `uptime` on `host` as the current member; its id.
    async fn begin(host: &str) -> Result<i64> {
        member()
            .unwrap()
            .begin(&actor(), &NewAction::new(ActionKind::Exec, host, "uptime"))
            .await
    }

    /// Two actions side by side: both are on disk `running` before either begin returns (so
    /// before either is sent), the first one's end waits for the second's and is read back
    /// meanwhile from the group, and the whole takes two writes to disk.
    #[tokio::test]
    async fn side_by_side_actions_start_on_disk_together_and_end_together() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite");
        let journal = Arc::new(Journal::open(&path).unwrap());
        let commits = journal.count_commits();
        let group = CommitGroup::new(journal.clone(), 2);
        let on_disk = |target: &str| -> (String, Option<i64>) {
            Connection::open(&path)
                .unwrap()
                .query_row(
                    "SELECT state, duration_ms FROM actions WHERE target = ?1",
                    [target],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap()
        };
        let running = || ("running".to_string(), None);
        let (go_on, wait) = oneshot::channel::<()>();
        let first = as_member(group.clone(), 0, async {
            let me = member().unwrap();
            let id = begin("web-1").await.unwrap();
            assert_eq!((on_disk("web-1"), on_disk("web-2")), (running(), running()));
            me.end(id, ActionState::Succeeded, "exit code 0", None);
            assert_eq!(on_disk("web-1"), running(), "written with web-2's end");
            let read = me.group().as_ended(journal.get(id).unwrap().unwrap());
            assert_eq!(read.state, ActionState::Succeeded);
            assert_eq!(read.result.as_deref(), Some("exit code 0"));
            go_on.send(()).unwrap();
        });
        let second = as_member(group.clone(), 1, async {
            let me = member().unwrap();
            let id = begin("web-2").await.unwrap();
            wait.await.unwrap();
            me.end(
                id,
                ActionState::Failed,
                "exit code 1",
                Some("remote-command"),
            );
        });
        tokio::join!(first, second);
        assert_eq!(on_disk("web-1").0, "succeeded");
        assert_eq!(on_disk("web-2").0, "failed");
        assert!(on_disk("web-2").1.is_some());
        assert_eq!(
            commits.load(std::sync::atomic::Ordering::SeqCst),
            2,
            "one write for both starts, one for both ends"
        );
        assert_eq!(group.ended_actions().len(), 2);
    }

    /// A member still reading its target holds the others' starts back (they are written
    /// with its own), and one that ends without acting lets them go.
    #[tokio::test]
    async fn a_member_that_never_acts_does_not_hold_the_others_back() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Arc::new(Journal::open(&dir.path().join("j.sqlite")).unwrap());
        let group = CommitGroup::new(journal.clone(), 2);
        let (go_on, wait) = oneshot::channel::<()>();
        let acts = as_member(group.clone(), 0, async {
            let me = member().unwrap();
            let id = begin("web-1").await.unwrap();
            me.end(id, ActionState::Succeeded, "exit code 0", None);
        });
        let skips = as_member(group.clone(), 1, async {
            wait.await.unwrap();
        });
        let released = async {
            tokio::task::yield_now().await;
            assert!(journal.list(None, 10).unwrap().is_empty(), "held back");
            go_on.send(()).unwrap();
        };
        tokio::join!(acts, skips, released);
        let rows = journal.list(None, 10).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].state, ActionState::Succeeded);
    }

    /// A group whose starts cannot be written sends nothing: each begin fails with what to do.
    #[tokio::test]
    async fn starts_that_cannot_be_written_fail_every_begin() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite");
        let journal = Arc::new(Journal::open(&path).unwrap());
        Connection::open(&path)
            .unwrap()
            .execute_batch(
                "CREATE TRIGGER refuse_running BEFORE INSERT ON actions
                 WHEN NEW.state = 'running' BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END;",
            )
            .unwrap();
        let group = CommitGroup::new(journal.clone(), 2);
        let (a, b) = tokio::join!(
            as_member(group.clone(), 0, begin("web-1")),
            as_member(group.clone(), 1, begin("web-2"))
        );
        for err in [a.unwrap_err(), b.unwrap_err()] {
            assert_eq!(err.code(), crate::ErrorCode::Journal, "{err}");
            assert!(err.to_string().contains("nothing was sent"), "{err}");
            assert!(err.to_string().contains("disk I/O error"), "{err}");
        }
        assert!(journal.list(None, 10).unwrap().is_empty());
    }
}
