//! Group commit on SQLite: holds, payments and charges that arrive while the one writer is busy
//! run together in one transaction and one fsync, each under a savepoint of its own, so one
//! fan's failure never fails another's. Each is answered only after its group has committed
//! (`synchronous=FULL`), so nothing acknowledged is lost.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use futures_util::future::BoxFuture;
use sqlx::{Connection, Sqlite, SqliteConnection};
use tokio::sync::{mpsc, oneshot};

use crate::error::{Error, Result};

/// Most writes one group commits.
const MAX_GROUP: usize = 128;

/// The savepoint every write of a group runs under; [`undo`] rolls a write back to it.
const SAVEPOINT: &str = "write";
/// Before the group's first write: its savepoint.
const FIRST: &str = "SAVEPOINT write";
/// Between two writes: the last one's savepoint released and the next one's opened, in one call
/// to the writer. The commit releases the last.
const NEXT: &str = "RELEASE write; SAVEPOINT write";

/// What a write did, and how to answer its caller once the group's commit is known.
struct Done {
    /// The write returned an error: its savepoint is rolled back.
    failed: bool,
    answer: Box<dyn FnOnce(Result<()>) + Send>,
}

type Work =
    Box<dyn for<'c> FnOnce(&'c mut SqliteConnection, Opening) -> BoxFuture<'c, Done> + Send>;

/// The statement that opens a write's savepoint (releasing the one of the write before it). A
/// write sends it before anything else: at the head of its first call ([`Opening::before`]),
/// which saves a call to the writer, or alone ([`Opening::run`]). A write that never sends it
/// must write nothing.
pub struct Opening {
    sql: &'static str,
    sent: Arc<AtomicBool>,
}

impl Opening {
    /// `sql` with the opening before it, as one string of statements.
    pub fn before(&self, sql: &str) -> String {
        self.sent.store(true, Ordering::Relaxed);
        format!("{}; {sql}", self.sql)
    }

    /// The opening as a call of its own.
    pub async fn run(&self, conn: &mut SqliteConnection) -> Result<()> {
        self.sent.store(true, Ordering::Relaxed);
        sqlx::query(self.sql).execute(conn).await?;
        Ok(())
    }
}

/// The writer's queue: [`WriteGroups::run`] hands a write to the task that owns the writer
/// between groups.
#[derive(Clone)]
pub struct WriteGroups {
    queue: mpsc::Sender<Work>,
    /// Groups committed so far.
    committed: Arc<AtomicU64>,
}

impl WriteGroups {
    pub fn start(write: sqlx::Pool<Sqlite>) -> Self {
        let (queue, rx) = mpsc::channel(4 * MAX_GROUP);
        let committed = Arc::new(AtomicU64::new(0));
        tokio::spawn(writer(write, rx, committed.clone()));
        WriteGroups { queue, committed }
    }

    /// Groups committed so far.
    pub fn committed(&self) -> u64 {
        self.committed.load(Ordering::Relaxed)
    }

    /// Runs `write` on the writer inside the next group, and answers once that group has
    /// committed. `write` first sends its [`Opening`]. A write that returns an error is rolled
    /// back to its savepoint, so it changes nothing; one that must keep a record of a refusal
    /// (an idempotency key's error answer) rolls back what it had begun itself ([`undo`]),
    /// writes the record, and returns the refusal inside `Ok`.
    pub async fn run<T, F>(&self, write: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection, Opening) -> BoxFuture<'c, Result<T>>
            + Send
            + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let work: Work = Box::new(move |conn, opening| {
            Box::pin(async move {
                // A caller that has gone (its client hung up while the write queued) would only
                // get a seat held, or paid, for nobody.
                if tx.is_closed() {
                    return Done {
                        failed: false,
                        answer: Box::new(|_| {}),
                    };
                }
                let out = write(conn, opening).await;
                let failed = out.is_err();
                Done {
                    failed,
                    answer: Box::new(move |committed: Result<()>| {
                        let _ = tx.send(match (out, committed) {
                            (Ok(v), Ok(())) => Ok(v),
                            (Ok(_), Err(e)) | (Err(e), _) => Err(e),
                        });
                    }),
                }
            })
        });
        self.queue
            .send(work)
            .await
            .map_err(|_| Error::internal("the SQLite writer has stopped"))?;
        rx.await
            .map_err(|_| Error::internal("the write's group could not run"))?
    }
}

/// Rolls the current write back to its savepoint: what a write does before it records a
/// refusal (an idempotency key's error answer) in place of what it had begun.
pub async fn undo(conn: &mut SqliteConnection) -> Result<()> {
    sqlx::query(&format!("ROLLBACK TO {SAVEPOINT}"))
        .execute(conn)
        .await?;
    Ok(())
}

/// Runs groups for ever: whatever has queued while the last group ran is the next group.
async fn writer(pool: sqlx::Pool<Sqlite>, mut rx: mpsc::Receiver<Work>, committed: Arc<AtomicU64>) {
    while let Some(first) = rx.recv().await {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(w) => group.push(w),
                Err(_) => break,
            }
        }
        metrics::histogram!("encore_sqlite_write_group_size").record(group.len() as f64);
        if let Err(e) = run_group(&pool, group, &committed).await {
            // The group's callers see their answer channels close: nothing of it committed.
            tracing::error!(error = %e, "a group of SQLite writes failed");
        }
    }
}

async fn run_group(
    pool: &sqlx::Pool<Sqlite>,
    group: Vec<Work>,
    committed: &AtomicU64,
) -> Result<()> {
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;
    let mut answers = Vec::with_capacity(group.len());
    // Whether a write of the group has opened a savepoint yet.
    let mut open = false;
    for work in group {
        let sent = Arc::new(AtomicBool::new(false));
        let opening = Opening {
            sql: if open { NEXT } else { FIRST },
            sent: sent.clone(),
        };
        let done = work(&mut tx, opening).await;
        let opened = sent.load(Ordering::Relaxed);
        open |= opened;
        // A write that failed before its opening wrote nothing.
        if done.failed && opened {
            undo(&mut tx).await?;
        }
        answers.push(done.answer);
    }
    let failure = tx.commit().await.err().map(|e| e.to_string());
    if failure.is_none() {
        committed.fetch_add(1, Ordering::Relaxed);
    }
    for answer in answers {
        answer(match &failure {
            None => Ok(()),
            Some(e) => Err(Error::internal(format!(
                "the write's group did not commit: {e}"
            ))),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh SQLite file with one table `t (x)`, its one-connection pool and its writer.
    struct Fixture {
        path: std::path::PathBuf,
        pool: sqlx::Pool<Sqlite>,
        groups: WriteGroups,
    }

    impl Fixture {
        async fn new() -> Fixture {
            let path = std::env::temp_dir().join(format!("encore-group-{}", uuid::Uuid::now_v7()));
            let url = format!("sqlite://{}?mode=rwc", path.display());
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(1)
                .connect(&url)
                .await
                .unwrap();
            sqlx::query("CREATE TABLE t (x INTEGER PRIMARY KEY)")
                .execute(&pool)
                .await
                .unwrap();
            let groups = WriteGroups::start(pool.clone());
            Fixture { path, pool, groups }
        }

        async fn rows(&self) -> Vec<i64> {
            sqlx::query_scalar("SELECT x FROM t ORDER BY x")
                .fetch_all(&self.pool)
                .await
                .unwrap()
        }
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.path);
        }
    }

    /// A write of `x` into `t`, refused after it wrote when `refuse`; an even `x` sends its
    /// opening with its statement, an odd one alone.
    fn insert(
        x: i64,
        refuse: bool,
    ) -> impl for<'c> FnOnce(&'c mut SqliteConnection, Opening) -> BoxFuture<'c, Result<i64>>
    + Send
    + 'static {
        move |conn, opening| {
            Box::pin(async move {
                let sql = "INSERT INTO t (x) VALUES ($1)";
                let sql = if x % 2 == 0 {
                    opening.before(sql)
                } else {
                    opening.run(conn).await?;
                    sql.to_owned()
                };
                sqlx::query(&sql).bind(x).execute(&mut *conn).await?;
                if refuse {
                    return Err(Error::SeatUnavailable);
                }
                Ok(x)
            })
        }
    }

    /// A write refused before it sent its opening wrote nothing, and the writes around it in
    /// its group stand: it rolls nothing back, not even the write before it.
    #[tokio::test]
    async fn a_write_refused_before_its_opening_leaves_the_one_before_intact() {
        let f = Fixture::new().await;
        // The writer waits for the connection the test holds while the three writes queue, in
        // the order they are spawned.
        let held = f.pool.acquire().await.unwrap();
        let (a, b, c) = (f.groups.clone(), f.groups.clone(), f.groups.clone());
        let first = tokio::spawn(async move { a.run(insert(2, false)).await });
        let refused = tokio::spawn(async move {
            b.run(|_, _| Box::pin(async { Err::<i64, _>(Error::SeatUnavailable) }))
                .await
        });
        let last = tokio::spawn(async move { c.run(insert(3, false)).await });
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        drop(held);
        assert_eq!(first.await.unwrap().unwrap(), 2);
        assert!(matches!(
            refused.await.unwrap(),
            Err(Error::SeatUnavailable)
        ));
        assert_eq!(last.await.unwrap().unwrap(), 3);
        assert_eq!(f.groups.committed(), 1, "one group");
        assert_eq!(f.rows().await, vec![2, 3]);
    }

    /// Twenty writes in one group, every other one refused after it wrote: each caller gets its
    /// own answer, and only the accepted writes are in the table.
    #[tokio::test]
    async fn a_refused_write_in_a_group_leaves_the_others_intact() {
        let f = Fixture::new().await;
        // The writer waits for the connection the test holds while every write queues.
        let held = f.pool.acquire().await.unwrap();
        let calls: Vec<_> = (0..20i64)
            .map(|x| {
                let groups = f.groups.clone();
                tokio::spawn(async move { groups.run(insert(x, x % 2 == 1)).await })
            })
            .collect();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        drop(held);
        for (x, call) in calls.into_iter().enumerate() {
            let answer = call.await.unwrap();
            match x % 2 {
                0 => assert_eq!(answer.unwrap(), x as i64),
                _ => assert!(matches!(answer, Err(Error::SeatUnavailable)), "{answer:?}"),
            }
        }
        assert_eq!(f.rows().await, (0..20).step_by(2).collect::<Vec<i64>>());
        assert!(
            f.groups.committed() <= 2,
            "20 writes in {} groups",
            f.groups.committed()
        );
    }

    /// A write whose caller went away while it queued is not made.
    #[tokio::test]
    async fn a_write_whose_caller_has_gone_is_not_made() {
        let f = Fixture::new().await;
        let held = f.pool.acquire().await.unwrap();
        let gone = tokio::spawn({
            let groups = f.groups.clone();
            async move { groups.run(insert(1, false)).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        gone.abort();
        let _ = gone.await;
        drop(held);
        f.groups.run(insert(2, false)).await.unwrap();
        assert_eq!(f.rows().await, [2]);
    }
}
