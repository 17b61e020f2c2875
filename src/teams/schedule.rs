//! The install for everyone's plan of work, as pure code: which users go in the next batch and when (batches of
//! 20, at most [`IN_FLIGHT`] at once, started at the [`Pacer`]'s pace), what each user's answer means (installed,
//! already had it, failed, or throttled and tried again after its own `Retry-After`, [`MAX_TRIES`] at most), and
//! when it is all over. Time is an input ([`Moment`]); nothing is sent or saved from here: the shell
//! (`shell/teams.rs`) sends the batches it hands out, saves the progress and reports. Tested without a simulator.

use std::collections::VecDeque;
use std::time::Duration;

use super::bulk::UserResult;
use super::catalog::Installed;
use super::pace::{IN_FLIGHT, MAX_TRIES, Pacer};
use crate::wizard::{Failure, Moment};

/// Users in one `$batch` (Graph's limit), which is also how often the progress is saved.
pub const BATCH: usize = crate::graph::batch::MAX_BATCH;

/// A user waiting for their install, and when they may be tried again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    pub user: String,
    pub tries: u32,
    pub not_before: Moment,
}

/// What the shell should wait for next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Nothing in flight and nobody left: the run is over.
    Finished,
    /// Nothing in flight; the next batch may start at this moment.
    Until(Moment),
    /// A batch to come back, or this moment, when another may start (whichever is first).
    BatchOr(Option<Moment>),
}

/// The queue, the pace and the batches in flight.
#[derive(Debug)]
pub struct Schedule {
    queue: VecDeque<Queued>,
    pacer: Pacer,
    next_start: Moment,
    in_flight: usize,
}

impl Schedule {
    /// The users still to do, all ready at `now`.
    pub fn new(users: Vec<String>, now: Moment) -> Self {
        let queue = users.into_iter().map(|user| Queued { user, tries: 0, not_before: now }).collect();
        Self { queue, pacer: Pacer::default(), next_start: now, in_flight: 0 }
    }

    /// The next batch to send at `now`, if one may start: room in flight, the pace allows it, and someone is ready.
    pub fn next_batch(&mut self, now: Moment) -> Option<Vec<Queued>> {
        if self.in_flight >= IN_FLIGHT || now < self.next_start {
            return None;
        }
        let ready = self.take_ready(now);
        if ready.is_empty() {
            return None;
        }
        self.in_flight += 1;
        self.next_start = now.plus(self.pacer.interval());
        Some(ready)
    }

    /// What to wait for after handing out every batch [`Self::next_batch`] would give at `now`.
    pub fn wait(&self, now: Moment) -> Wait {
        let soonest = self.queue.iter().map(|q| q.not_before).min();
        if self.in_flight == 0 {
            return match soonest {
                None => Wait::Finished,
                Some(at) => Wait::Until(at.max(self.next_start)),
            };
        }
        let another = self.in_flight < IN_FLIGHT && soonest.is_some_and(|at| at <= now.max(self.next_start));
        Wait::BatchOr(another.then_some(self.next_start))
    }

    /// A batch came back at `finished`: each user's result to record, in the batch's order; throttled users (a
    /// retryable status, tries left) go back in the queue after their own `Retry-After` and have no result yet.
    pub fn batch_done(
        &mut self,
        sent: Vec<Queued>,
        finished: Moment,
        answers: Vec<(String, Result<Installed, Failure>)>,
    ) -> Vec<(String, UserResult)> {
        self.in_flight = self.in_flight.saturating_sub(1);
        let sent_count = sent.len();
        let mut throttled = 0;
        let mut results = Vec::new();
        for ((user, answer), queued) in answers.into_iter().zip(sent) {
            let result = match answer {
                Ok(Installed::New) => UserResult::Installed,
                Ok(Installed::Already) => UserResult::AlreadyHad,
                Err(Failure::Graph(e))
                    if crate::graph::retry::is_retryable(e.status) && queued.tries + 1 < MAX_TRIES =>
                {
                    throttled += 1;
                    let wait = Duration::from_secs(e.retry_after_secs.unwrap_or(1).max(1));
                    self.queue.push_back(Queued { user, tries: queued.tries + 1, not_before: finished.plus(wait) });
                    continue;
                }
                Err(f) => {
                    let (code, message) = match &f {
                        Failure::Graph(e) => (e.code.clone(), e.message.clone()),
                        other => (other.code(), other.to_string()),
                    };
                    UserResult::Failed { code, message }
                }
            };
            results.push((user, result));
        }
        self.pacer.batch_done(finished.millis(), sent_count, throttled);
        results
    }

    /// Up to one batch of queued users whose time has come, in queue order.
    fn take_ready(&mut self, now: Moment) -> Vec<Queued> {
        let mut ready = Vec::new();
        let mut i = 0;
        while ready.len() < BATCH && i < self.queue.len() {
            if self.queue[i].not_before <= now {
                if let Some(q) = self.queue.remove(i) {
                    ready.push(q);
                }
            } else {
                i += 1;
            }
        }
        ready
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wizard::GraphError;

    fn at_ms(ms: u64) -> Moment {
        Moment::from_millis(ms)
    }

    fn users(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("u{i}")).collect()
    }

    fn throttled(secs: u64) -> Failure {
        Failure::Graph(GraphError {
            status: 429,
            code: "TooManyRequests".into(),
            retry_after_secs: Some(secs),
            ..GraphError::default()
        })
    }

    #[test]
    fn batches_of_twenty_at_most_four_in_flight() {
        let mut s = Schedule::new(users(100), at_ms(0));
        let batches: Vec<Vec<Queued>> = std::iter::from_fn(|| s.next_batch(at_ms(0))).collect();
        assert_eq!(batches.len(), IN_FLIGHT, "unpaced until the tenant refuses, but never more than four");
        assert!(batches.iter().all(|b| b.len() == BATCH));
        assert_eq!(batches[0][0].user, "u0", "in queue order");
        assert_eq!(s.wait(at_ms(0)), Wait::BatchOr(None), "full: wait for one to come back");
    }

    #[test]
    fn answers_are_recorded_and_throttled_users_go_again_after_their_own_wait() {
        let mut s = Schedule::new(users(3), at_ms(0));
        let sent = s.next_batch(at_ms(0)).unwrap();
        let answers = vec![
            ("u0".to_owned(), Ok(Installed::New)),
            ("u1".to_owned(), Ok(Installed::Already)),
            ("u2".to_owned(), Err(throttled(7))),
        ];
        let results = s.batch_done(sent, at_ms(1_000), answers);
        assert_eq!(results, [("u0".to_owned(), UserResult::Installed), ("u1".to_owned(), UserResult::AlreadyHad)]);
        assert_eq!(s.wait(at_ms(1_000)), Wait::Until(at_ms(8_000)), "u2 after its Retry-After of 7 s");
        assert!(s.next_batch(at_ms(7_999)).is_none());
        let again = s.next_batch(at_ms(8_000)).unwrap();
        assert_eq!((again[0].user.as_str(), again[0].tries), ("u2", 1));
        let results = s.batch_done(again, at_ms(8_100), vec![("u2".to_owned(), Ok(Installed::New))]);
        assert_eq!(results, [("u2".to_owned(), UserResult::Installed)]);
        assert_eq!(s.wait(at_ms(8_100)), Wait::Finished);
    }

    #[test]
    fn a_user_throttled_too_often_fails_and_other_errors_fail_at_once() {
        let mut s = Schedule::new(users(1), at_ms(0));
        let mut now = at_ms(0);
        let mut last = Vec::new();
        for _ in 0..MAX_TRIES {
            let sent = s.next_batch(now).unwrap();
            last = s.batch_done(sent, now, vec![("u0".to_owned(), Err(throttled(1)))]);
            match s.wait(now) {
                Wait::Until(at) => now = at,
                Wait::Finished => break,
                other => panic!("{other:?}"),
            }
        }
        let [(user, UserResult::Failed { code, .. })] = last.as_slice() else { panic!("{last:?}") };
        assert_eq!((user.as_str(), code.as_str()), ("u0", "TooManyRequests"));
        assert_eq!(s.wait(now), Wait::Finished);

        let mut s = Schedule::new(users(1), at_ms(0));
        let sent = s.next_batch(at_ms(0)).unwrap();
        let blocked = Failure::Graph(GraphError { status: 403, code: "Forbidden".into(), ..GraphError::default() });
        let r = s.batch_done(sent, at_ms(10), vec![("u0".to_owned(), Err(blocked))]);
        assert!(matches!(r.as_slice(), [(_, UserResult::Failed { code, .. })] if code == "Forbidden"));
    }

    #[test]
    fn after_a_refusal_batches_start_at_the_pace_the_tenant_accepted() {
        let mut s = Schedule::new(users(400), at_ms(0));
        let first = s.next_batch(at_ms(0)).unwrap();
        let mut answers: Vec<(String, Result<Installed, Failure>)> =
            first.iter().map(|q| (q.user.clone(), Ok(Installed::New))).collect();
        answers[19].1 = Err(throttled(1));
        s.batch_done(first, at_ms(500), answers);
        let next = s.next_batch(at_ms(500));
        assert!(next.is_some());
        let Wait::BatchOr(Some(at)) = s.wait(at_ms(500)) else { panic!("{:?}", s.wait(at_ms(500))) };
        assert!(at > at_ms(500), "paced: the next batch waits for its interval");
        assert!(s.next_batch(at_ms(500)).is_none());
    }
}
