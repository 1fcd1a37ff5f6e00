//! Builds the application from settings: storage, queue, router and background work.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use futures_util::StreamExt;
use metrics_exporter_prometheus::PrometheusHandle;
use quick_cache::sync::Cache;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use uuid::Uuid;

use crate::catalogue::plan::Layout;
use crate::catalogue::seat_states::SeatStates;
use crate::catalogue::seatmap::SeatMaps;
use crate::catalogue::{Concert, Schedule};
use crate::clock::Millis;
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::http::auth::{Gated, hash_key};
use crate::http::limits::Limits;
use crate::http::{fallback, serve};
use crate::queue::controls::{Admission, Controls, Policy};
use crate::queue::embedded::EmbeddedQueue;
use crate::queue::events::StreamSlots;
use crate::queue::proof::ProofCodec;
use crate::queue::rate::Prior;
use crate::queue::token::TokenCodec;
use crate::queue::{GateTicket, Queue, QueueConfig};
use crate::reservations::taken::TakenSeats;
use crate::store::Store;
use crate::{clock, demo, ops, telemetry, web};

/// Largest request body accepted; larger is 413.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Signed-in fans whose key needs no database lookup (about 60 bytes each): a flash crowd of a
/// million fans stays in memory.
const AUTH_CACHE_USERS: usize = 1_000_000;

/// How often the queue expires due tickets even when nobody calls (freed slots admit at once
/// on leave and payment; this catches time-based expiry).
const QUEUE_TICK: Duration = Duration::from_millis(200);
/// Lines one queue tick maintains at once.
const TICK_CONCURRENCY: usize = 16;

/// How often recorded latencies are folded into their histograms. The Prometheus recorder keeps
/// every sample until then, so without this an instance nobody scrapes grows without bound.
const METRICS_UPKEEP: Duration = Duration::from_secs(5);

/// What every handler can reach. One `Arc`, so the per-request clone axum makes is one
/// reference count, not one per field.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// How old a cached concert or schedule may be.
const CATALOGUE_TTL: Millis = 2_000;

/// A cached value and when it was read.
type Timed<V> = (Millis, V);

/// The cached value of `id` if read less than `CATALOGUE_TTL` ago, else `load`'s (concurrent
/// misses share one load). Only the stale entry itself is dropped, so a racing caller cannot
/// drop the fresh one another just loaded.
async fn timed<V: Clone>(
    cache: &Cache<Uuid, Timed<V>>,
    id: Uuid,
    load: impl std::future::Future<Output = Result<V>>,
) -> Result<V> {
    let now = clock::now();
    if let Some((at, v)) = cache.get(&id) {
        if now - at < CATALOGUE_TTL {
            return Ok(v);
        }
        cache.remove_if(&id, |(read, _)| *read == at);
    }
    let (_, v) = cache
        .get_or_insert_async(&id, async { Ok::<_, Error>((clock::now(), load.await?)) })
        .await?;
    Ok(v)
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn Queue>,
    pub settings: Arc<Settings>,
    pub admin_token_hash: [u8; 32],
    /// API-key hash → user id. Keys never change, so hits need no database.
    pub auth_cache: Arc<Cache<[u8; 32], Uuid>>,
    /// Concerts and schedules, each read at most `CATALOGUE_TTL` ago: the box office may edit
    /// their texts and times, and every instance follows within that. Values are `Arc`s: the
    /// join path checks a concert exists on every call and should not copy its strings to do
    /// so. `None` remembers an id that names nothing: ids are random UUIDs the service draws at
    /// creation, so one asked for before it exists never comes to exist, and the cache's scan
    /// resistance keeps such one-off ids from evicting live ones.
    concerts: Arc<Cache<Uuid, Timed<Option<Arc<Concert>>>>>,
    schedules: Arc<Cache<Uuid, Timed<Option<Schedule>>>>,
    /// Each schedule's numbered plan; immutable once the schedule exists.
    layouts: Arc<Cache<Uuid, Option<Arc<Layout>>>>,
    /// Every schedule's place states, for maps, counts and best-available picks.
    pub seat_states: SeatStates,
    /// Encoded seat maps, one per schedule.
    pub seat_maps: SeatMaps,
    /// Each concert's queue policy: live controls, on-sale time, places left.
    pub controls: Arc<Controls>,
    /// Seats held through this instance moments ago: racers who come after lose at once.
    pub taken: TakenSeats,
    pub metrics: PrometheusHandle,
    /// Signs ticket codes; the key is shared by every instance of one database.
    pub tickets: Arc<crate::tickets::jws::Signer>,
    /// Rate limits per client address and per API key.
    pub limits: Limits,
    /// Open event streams per queue ticket.
    pub streams: StreamSlots,
    /// Signs and checks proof-of-work challenges for joins.
    pub proofs: ProofCodec,
    /// Cancelled on shutdown: ends streams and background loops.
    pub stop: CancellationToken,
}

impl Shared {
    /// Concurrent misses on one id share one database read (a crowd arriving at a concert that
    /// is not cached yet must not become a crowd of identical queries).
    pub async fn concert(&self, id: Uuid) -> Result<Arc<Concert>> {
        timed(&self.concerts, id, async {
            Ok(self.store.concert(id).await?.map(Arc::new))
        })
        .await?
        .ok_or(Error::ConcertNotFound)
    }

    /// A schedule's stored fields (window, seats, price, concert, status); not its live seat
    /// count. Concurrent misses share one read, as for concerts.
    pub async fn schedule(&self, id: Uuid) -> Result<Schedule> {
        timed(&self.schedules, id, self.store.schedule(id))
            .await?
            .ok_or(Error::ScheduleNotFound)
    }

    /// Forgets this instance's copies of a concert and a schedule the box office just changed,
    /// so its own answers show the change at once (other instances within `CATALOGUE_TTL`).
    pub fn forget_catalogue(&self, concert: Option<Uuid>, schedule: Option<Uuid>) {
        if let Some(id) = concert {
            self.concerts.remove(&id);
        }
        if let Some(id) = schedule {
            self.schedules.remove(&id);
        }
    }

    /// What a reservation of `schedule_id` shows besides itself: the concert's title and venue,
    /// the start and the place names.
    pub async fn shown(&self, schedule_id: Uuid) -> Result<crate::reservations::Shown> {
        let schedule = self.schedule(schedule_id).await?;
        let concert = self.concert(schedule.concert_id).await?;
        Ok(crate::reservations::Shown {
            layout: self.layout(schedule_id).await?,
            title: concert.title.clone(),
            venue: concert.venue.clone(),
            starts_at: schedule.starts_at,
        })
    }

    /// The fan's reservation; RESERVATION_NOT_FOUND when there is none or it is another fan's.
    pub async fn own_reservation(
        &self,
        id: Uuid,
        user: Uuid,
    ) -> Result<crate::reservations::Reservation> {
        self.store
            .reservation(id, user)
            .await?
            .ok_or(Error::ReservationNotFound)
    }

    /// [`AppState::own_reservation`] when it is CONFIRMED, else RESERVATION_NOT_CONFIRMED.
    pub async fn confirmed_reservation(
        &self,
        id: Uuid,
        user: Uuid,
    ) -> Result<crate::reservations::Reservation> {
        let r = self.own_reservation(id, user).await?;
        if r.status != crate::reservations::ReservationStatus::Confirmed {
            return Err(Error::ReservationNotConfirmed);
        }
        Ok(r)
    }

    /// A schedule's numbered plan. Concurrent misses share one read, as for concerts.
    pub async fn layout(&self, id: Uuid) -> Result<Arc<Layout>> {
        self.layouts
            .get_or_insert_async(&id, async {
                match self.store.plan(id).await? {
                    Some(plan) => Ok::<_, Error>(Some(Arc::new(plan.layout()?))),
                    None => Ok(None),
                }
            })
            .await?
            .ok_or(Error::ScheduleNotFound)
    }

    /// The caller's live, ACTIVE ticket behind a gated call's `X-Queue-Token`; the handler then
    /// checks it is for the concert the call is about.
    pub async fn queue_ticket(&self, gate: &Gated) -> Result<GateTicket> {
        let token = gate.token.0.as_deref().ok_or(Error::QueueTokenRequired)?;
        let now = clock::now();
        let t = self.queue.verify(token)?;
        let (_, adm) = self.admission(t.concert, now).await?;
        self.queue.gate(t, &adm).await?.open_for(gate.user.0)
    }

    /// What an admitted fan's slot costs before a rate is observed (see `queue::rate::Prior`).
    pub fn wait_prior(&self) -> Prior {
        Prior {
            fast_ms: clock::millis(self.settings.hold_ttl) / 2,
            slow_ms: clock::millis(self.settings.queue_active_ttl),
        }
    }

    /// The concert's policy now (controls, on-sale time, places left) and what the queue is
    /// told for a call at `now`.
    pub async fn admission(&self, concert_id: Uuid, now: Millis) -> Result<(Policy, Admission)> {
        let policy = self.controls.policy(concert_id, now).await?;
        Ok((policy, policy.admission(now)))
    }
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    max_connections: usize,
}

impl Application {
    /// Connects everything and binds the listener (port 0 picks a free port, as tests do).
    pub async fn build(settings: Settings) -> Result<Self> {
        refuse_a_queue_per_instance(&settings)?;
        // The port comes first: a start that cannot serve must fail before it changes anything
        // (the embedded queue takes its saved snapshot out of the database when it starts).
        let listener = bind(&settings.listen).await?;
        let metrics = telemetry::metrics_handle();
        let store = crate::store::connect(&settings).await?;
        let codec = TokenCodec::new(store.secret("queue-token").await?);
        let tickets = Arc::new(crate::tickets::jws::Signer::new(
            store.secret("ticket-signing-key").await?,
        ));
        let proofs = ProofCodec::new(store.secret("queue-proof").await?);
        let config = QueueConfig {
            active_limit: settings.queue_active_limit,
            active_ttl: clock::millis(settings.queue_active_ttl),
            idle_timeout: clock::millis(settings.queue_idle_timeout),
            admit_per_minute: None,
        };
        let controls = Arc::new(Controls::new(store.clone(), settings.queue_active_limit));
        let queue: Arc<dyn Queue> = match &settings.redis_url {
            Some(url) => Arc::new(
                crate::queue::redis::RedisQueue::connect(
                    url,
                    &settings.redis_prefix,
                    codec,
                    config,
                )
                .await?,
            ),
            None => {
                Arc::new(EmbeddedQueue::start(codec, config, store.clone(), clock::now()).await?)
            }
        };
        if settings.demo {
            demo::seed(store.as_ref()).await?;
        }
        let admin_token = match &settings.admin_token {
            Some(token) => token.expose().to_owned(),
            None => {
                let (token, _) = crate::http::auth::new_api_key();
                tracing::warn!(
                    "ENCORE_ADMIN_TOKEN is not set; the admin token of this run is {token} \
                     (export ENCORE_ADMIN_TOKEN={token} to keep it across restarts)"
                );
                token
            }
        };
        let seat_states = SeatStates::new(store.clone());
        let limits = Limits::new(&settings);
        let state = AppState(Arc::new(Shared {
            store,
            queue,
            admin_token_hash: hash_key(&admin_token),
            settings: Arc::new(settings),
            auth_cache: Arc::new(Cache::new(AUTH_CACHE_USERS)),
            concerts: Arc::new(Cache::new(10_000)),
            schedules: Arc::new(Cache::new(100_000)),
            layouts: Arc::new(Cache::new(2_000)),
            seat_states,
            controls,
            seat_maps: SeatMaps::default(),
            taken: TakenSeats::default(),
            metrics,
            tickets,
            limits,
            streams: StreamSlots::default(),
            proofs,
            stop: CancellationToken::new(),
        }));
        let router = router(state.clone());
        let max_connections =
            serve::connection_cap(state.settings.max_connections, state.settings.db_pool_size);
        Ok(Application {
            listener,
            router,
            state,
            max_connections,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until `shutdown` resolves, then drains requests, ends streams and background work,
    /// and saves the embedded queue so nobody loses their place across a restart.
    pub async fn run_until_stopped(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        let Application {
            listener,
            router,
            state,
            max_connections,
        } = self;
        spawn_background(&state);
        let stop = state.stop.clone();
        let addr = listener.local_addr().map_err(Error::internal)?;
        tracing::info!(
            database = %describe_database(&state.settings.database_url),
            queue = %match &state.settings.redis_url {
                Some(_) => format!("Redis (key prefix {})", state.settings.redis_prefix),
                None => "embedded".to_owned(),
            },
            max_connections,
            "encore is serving on http://{addr}/ (web front), API at http://{addr}/api/v1, \
             contract at http://{addr}/openapi.json"
        );
        let config = serve::ServeConfig {
            max_connections,
            header_timeout: state.settings.header_timeout,
            drain_timeout: state.settings.drain_timeout,
        };
        serve::serve(listener, router, config, async move {
            shutdown.await;
            // Streams end first so the graceful drain does not wait on them.
            stop.cancel();
        })
        .await;
        state.stop.cancel();
        state.queue.shutdown().await
    }
}

/// Binds the listener, saying in full why not when it cannot.
async fn bind(listen: &str) -> Result<TcpListener> {
    TcpListener::bind(listen).await.map_err(|e| {
        Error::Startup(match e.kind() {
            std::io::ErrorKind::AddrInUse => format!(
                "cannot listen on {listen}: the address is already in use (is another encore \
                 running?); stop it or set ENCORE_LISTEN to another address"
            ),
            _ => format!("cannot listen on {listen}: {e}"),
        })
    })
}

/// PostgreSQL without Redis keeps the waiting queue in each process: two instances would each
/// admit their own cap of fans and overwrite each other's saved queue. Refused unless the
/// operator says only one instance will run.
fn refuse_a_queue_per_instance(settings: &Settings) -> Result<()> {
    let postgres = settings.database_url.starts_with("postgres");
    if postgres && settings.redis_url.is_none() && !settings.single_instance {
        return Err(Error::Startup(
            "PostgreSQL without ENCORE_REDIS_URL keeps the waiting queue inside this process, \
             which is right for one instance only: set ENCORE_REDIS_URL to run several, or \
             ENCORE_SINGLE_INSTANCE=on (--single-instance) to run just this one"
                .into(),
        ));
    }
    Ok(())
}

/// The database named without its password, for the startup log.
fn describe_database(url: &str) -> String {
    match url.split_once("://") {
        Some(("sqlite", file)) => format!("SQLite file {file}"),
        Some((_, rest)) => format!("PostgreSQL {}", rest.rsplit('@').next().unwrap_or(rest)),
        None => url.to_owned(),
    }
}

fn spawn_background(state: &AppState) {
    let metrics = state.metrics.clone();
    let stop = state.stop.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(METRICS_UPKEEP);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tick.tick() => metrics.run_upkeep(),
            }
        }
    });
    let s = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(crate::http::limits::FORGET_EVERY);
        loop {
            tokio::select! {
                _ = s.stop.cancelled() => break,
                _ = tick.tick() => s.limits.forget_idle(),
            }
        }
    });
    crate::reservations::sweeper::spawn(
        state.store.clone(),
        state.settings.sweep_interval,
        state.stop.clone(),
    );
    crate::cancellations::spawn(state.clone(), state.settings.sweep_interval);
    match crate::webhooks::delivery::Deliverer::new(state.store.clone(), &state.settings) {
        Ok(deliverer) => deliverer.spawn(state.stop.clone()),
        Err(e) => tracing::error!(error = %e, "webhook deliveries cannot start"),
    }
    let offers = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(offers.settings.sweep_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = offers.stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            if let Err(e) = crate::waitlist::offers::round(&offers).await {
                tracing::debug!(error = %e, "waiting-list offers failed; retrying");
            }
        }
    });
    let state = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(QUEUE_TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = state.stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            let concerts = match state.queue.concerts().await {
                Ok(c) => c,
                Err(e) => {
                    tracing::debug!(error = %e, "queue tick failed; retrying");
                    continue;
                }
            };
            // Several lines at once, so a slow one does not hold up the rest; one concert's
            // trouble never stops another's tick.
            let state = &state;
            futures_util::stream::iter(concerts)
                .for_each_concurrent(TICK_CONCURRENCY, |concert| async move {
                    let now = clock::now();
                    let ticked = match state.admission(concert, now).await {
                        Ok((_, adm)) => state.queue.tick(concert, &adm).await,
                        Err(e) => Err(e),
                    };
                    if let Err(e) = ticked {
                        tracing::debug!(error = %e, %concert, "queue tick failed; retrying");
                    }
                })
                .await;
        }
    });
}

/// Every documented route: the API under `/api/v1` and the operations. The OpenAPI document is
/// collected from these same routers (`openapi::document`).
pub fn documented_routes() -> OpenApiRouter<AppState> {
    let api = OpenApiRouter::new()
        .merge(crate::users::handlers::router())
        .merge(crate::catalogue::handlers::router())
        .merge(crate::queue::handlers::router())
        .merge(crate::reservations::handlers::router())
        .merge(crate::wallet::handlers::router())
        .merge(crate::payments::handlers::router())
        .merge(crate::refunds::handlers::router())
        .merge(crate::tickets::handlers::router())
        .merge(crate::cancellations::handlers::router())
        .merge(crate::waitlist::handlers::router())
        .merge(crate::webhooks::handlers::router());
    OpenApiRouter::with_openapi(crate::openapi::ApiDoc::openapi())
        .nest("/api/v1", api)
        .merge(ops::router())
}

/// The whole HTTP surface: the documented routes and the web front.
pub fn router(state: AppState) -> Router {
    let (routes, _) = documented_routes().split_for_parts();
    Router::new()
        .merge(routes)
        .merge(web::router())
        .fallback(fallback::not_found)
        .method_not_allowed_fallback(fallback::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.settings.request_timeout,
            serve::deadline,
        ))
        .layer(axum::middleware::from_fn(crate::http::metrics::track))
        .layer(axum::middleware::from_fn(crate::http::headers::secure))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CatchPanicLayer::custom(fallback::panic_response))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
