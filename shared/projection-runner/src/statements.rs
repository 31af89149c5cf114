//! The statements a batch of events makes, sent together on the runner's transaction.
//!
//! A projection that writes one statement per event (a `match` with one statement per arm)
//! pushes them here in stream order and sends them with [`Statements::execute`]: each is
//! sent without waiting for the answer to the one before (pipelined on the one
//! connection), so a batch of 500 events costs about one round trip instead of 500. The
//! server still runs them one after the other, in the order pushed, inside the one
//! transaction: the rows come out exactly as if each event had been applied on its own.

use std::collections::HashMap;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;

use deadpool_postgres::Transaction;
use tokio_postgres::types::ToSql;

use crate::ApplyError;

/// One parameter of a statement, owned, so that statements can wait to be sent together.
pub type Param = Box<dyn ToSql + Sync + Send>;

/// The parameters of one statement, owned: `params![code, name, at]`.
#[macro_export]
macro_rules! params {
    ($($value:expr),* $(,)?) => {
        vec![$(Box::new($value) as $crate::Param),*]
    };
}

/// Statements in the order they must run.
#[derive(Default)]
pub struct Statements {
    list: Vec<(&'static str, Vec<Param>)>,
}

impl std::fmt::Debug for Statements {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Statements")
            .field("statements", &self.list.len())
            .finish()
    }
}

impl Statements {
    /// None yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a statement (written with unqualified table names: the projection's schema is
    /// on the search path) after the ones already pushed.
    pub fn push(&mut self, sql: &'static str, params: Vec<Param>) {
        self.list.push((sql, params));
    }

    /// How many statements are waiting.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether none are.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Sends every statement on `tx`, pipelined, and waits for all of them. The first one
    /// the database refuses is the error (the statements after it fail with it, the
    /// transaction being aborted).
    pub async fn execute(self, tx: &Transaction<'_>) -> Result<(), ApplyError> {
        if self.list.is_empty() {
            return Ok(());
        }
        // Prepared first (cached per connection, so this is free after the first batch):
        // an execute that had to prepare would wait for that answer before sending, and
        // could then be sent after statements pushed later.
        let mut prepared = HashMap::new();
        for (sql, _) in &self.list {
            if !prepared.contains_key(sql) {
                prepared.insert(*sql, tx.prepare_cached(sql).await?);
            }
        }
        let sends = self
            .list
            .iter()
            .map(|(sql, params)| {
                let statement = &prepared[sql];
                Box::pin(async move {
                    let params: Vec<&(dyn ToSql + Sync)> =
                        params.iter().map(|p| &**p as &(dyn ToSql + Sync)).collect();
                    tx.execute(statement, &params).await
                })
            })
            .collect();
        for result in in_order(sends).await {
            result?;
        }
        Ok(())
    }
}

/// Drives `futures` to completion and returns their outputs in order. Their first polls
/// happen in the order given: a tokio-postgres execute sends its statement when first
/// polled, so this is what keeps the statements in order on the wire. Answers come back in
/// order too, so after the first pass it polls from the first unfinished one and stops at
/// the first still pending (it is woken again when that one's answer arrives).
async fn in_order<F: Future + Unpin>(mut futures: Vec<F>) -> Vec<F::Output> {
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    let mut first_pass = true;
    let mut next = 0;
    poll_fn(|cx| {
        let mut i = next;
        while i < futures.len() {
            if outputs[i].is_none() {
                match Pin::new(&mut futures[i]).poll(cx) {
                    Poll::Ready(output) => outputs[i] = Some(output),
                    Poll::Pending if first_pass => {}
                    Poll::Pending => break,
                }
            }
            i += 1;
        }
        first_pass = false;
        while next < outputs.len() && outputs[next].is_some() {
            next += 1;
        }
        if next == outputs.len() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A future that notes when it is first polled and finishes on its `n`th poll.
    struct Noted {
        id: usize,
        polls: usize,
        finish_after: usize,
        seen: Arc<Mutex<Vec<usize>>>,
    }

    impl Future for Noted {
        type Output = usize;
        fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<usize> {
            if self.polls == 0 {
                self.seen.lock().unwrap().push(self.id);
            }
            self.polls += 1;
            if self.polls >= self.finish_after {
                Poll::Ready(self.id)
            } else {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }

    #[tokio::test]
    async fn futures_are_first_polled_in_the_order_given_and_answer_in_that_order() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let futures: Vec<Noted> = (0..100)
            .map(|id| Noted {
                id,
                polls: 0,
                finish_after: 1 + (id * 7) % 5,
                seen: seen.clone(),
            })
            .collect();
        let outputs = in_order(futures).await;
        assert_eq!(outputs, (0..100).collect::<Vec<_>>());
        assert_eq!(*seen.lock().unwrap(), (0..100).collect::<Vec<_>>());
    }
}
