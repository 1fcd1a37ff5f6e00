//! `GET /schedules/{id}/seatmap`: the whole map of a schedule in a compact form for any size,
//! with a `version`, `ETag` → 304, and a gzip body encoded once per change, not per request.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use parking_lot::Mutex;
use quick_cache::sync::Cache;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::GradeAvailability;
use super::plan::{Kind, Layout};
use super::seat_states::Snapshot;
use crate::app::AppState;
use crate::clock::{self, Millis};
use crate::error::{Error, Result};
use crate::http::auth::Gated;
use crate::http::extract::Path;

/// The seat map. `status` spells each seat of a seated section, in number order (rows in
/// order, seats 1..n in each): `A` available, `H` held, `S` sold. A seat's number is
/// `rows[i].first + n - 1` and its label `{section}-{row}-{n}`. Standing sections give their
/// capacity (`standing`) and the places left (`available`) instead.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeatMap {
    pub schedule_id: Uuid,
    /// Changes whenever any place's status changes (a digest of every status).
    pub version: String,
    /// Seats plus standing capacity.
    pub places: i64,
    /// Places neither sold nor under a live hold.
    pub available: i64,
    pub grades: Vec<GradeAvailability>,
    /// In plan order, front first.
    pub sections: Vec<SectionMap>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SectionMap {
    pub code: String,
    pub name: String,
    /// The grade's code.
    pub grade: String,
    /// Free places of the section.
    pub available: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<Vec<RowMap>>,
    /// One letter per seat: `A`, `H` or `S`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// A standing section's capacity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standing: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RowMap {
    pub row: String,
    pub seats: u32,
    /// The number of the row's seat 1.
    pub first: i64,
}

/// Free places per grade and in all, as the schedule and the map show them.
pub fn availability(layout: &Layout, snap: &Snapshot) -> (i64, Vec<GradeAvailability>) {
    let mut per_grade = vec![0i64; layout.grades.len()];
    for s in &layout.sections {
        let r = s.range();
        per_grade[s.grade] += snap.free_in(*r.start(), *r.end());
    }
    let grades = layout
        .grades
        .iter()
        .zip(&per_grade)
        .map(|(g, &available)| GradeAvailability {
            code: g.code.clone(),
            name: g.name.clone(),
            price: g.price,
            available,
        })
        .collect();
    (per_grade.iter().sum(), grades)
}

/// A map encoded for the wire, good while its board has not changed and no hold has lapsed.
pub struct Encoded {
    etag: HeaderValue,
    json: Bytes,
    gzip: Bytes,
    changes: u64,
    valid_until: Millis,
}

/// Encoded maps, one per schedule, and the schedules being encoded right now.
pub struct SeatMaps {
    encoded: Cache<Uuid, Arc<Encoded>>,
    encoding: Mutex<HashSet<Uuid>>,
}

impl Default for SeatMaps {
    fn default() -> Self {
        SeatMaps {
            encoded: Cache::new(1_000),
            encoding: Mutex::default(),
        }
    }
}

impl SeatMaps {
    /// The encoded map, if it is still what a board at `changes` says at `now`.
    fn current(&self, id: Uuid, changes: u64, now: Millis) -> Option<Arc<Encoded>> {
        self.encoded
            .get(&id)
            .filter(|e| e.changes == changes && now < e.valid_until)
    }

    /// The current map; while another request encodes this schedule's map anew, the previous
    /// one is answered, so a burst of readers during a flow of holds never queues on encoding.
    fn get(&self, id: Uuid, layout: &Layout, snap: &Snapshot, now: Millis) -> Result<Arc<Encoded>> {
        let cached = self.encoded.get(&id);
        if let Some(e) = &cached
            && e.changes == snap.changes
            && now < e.valid_until
        {
            return Ok(e.clone());
        }
        let busy = !self.encoding.lock().insert(id);
        if busy && let Some(e) = cached {
            return Ok(e);
        }
        let fresh = encode(id, layout, snap);
        if !busy {
            self.encoding.lock().remove(&id);
        }
        let fresh = Arc::new(fresh?);
        self.encoded.insert(id, fresh.clone());
        Ok(fresh)
    }
}

fn encode(id: Uuid, layout: &Layout, snap: &Snapshot) -> Result<Encoded> {
    let mut hasher = DefaultHasher::new();
    snap.state.hash(&mut hasher);
    let version = format!("{:016x}", hasher.finish());
    let (available, grades) = availability(layout, snap);
    let sections = layout
        .sections
        .iter()
        .map(|s| {
            let range = s.range();
            let (rows, status, standing) = match &s.kind {
                Kind::Seated(rows) => {
                    let first = (*range.start() - 1) as usize;
                    let status = &snap.state[first..*range.end() as usize];
                    let rows = rows
                        .iter()
                        .map(|r| RowMap {
                            row: r.name.clone(),
                            seats: r.seats,
                            first: r.first,
                        })
                        .collect();
                    let status = String::from_utf8_lossy(status).into_owned();
                    (Some(rows), Some(status), None)
                }
                Kind::Standing(n) => (None, None, Some(*n)),
            };
            SectionMap {
                code: s.code.clone(),
                name: s.name.clone(),
                grade: layout.grades[s.grade].code.clone(),
                available: snap.free_in(*range.start(), *range.end()),
                rows,
                status,
                standing,
            }
        })
        .collect();
    let map = SeatMap {
        schedule_id: id,
        version: version.clone(),
        places: layout.places,
        available,
        grades,
        sections,
    };
    let json = serde_json::to_vec(&map).map_err(Error::internal)?;
    let mut gz = flate2::write::GzEncoder::new(
        Vec::with_capacity(json.len() / 8),
        flate2::Compression::fast(),
    );
    gz.write_all(&json).map_err(Error::internal)?;
    let gzip = gz.finish().map_err(Error::internal)?;
    Ok(Encoded {
        etag: HeaderValue::from_str(&format!("\"{version}\"")).map_err(Error::internal)?,
        json: json.into(),
        gzip: gzip.into(),
        changes: snap.changes,
        valid_until: snap.next_lapse,
    })
}

#[utoipa::path(get, path = "/schedules/{scheduleId}/seatmap", tag = "catalogue",
    description = "Gated: the whole seat map in a compact form (see the SeatMap schema). \
        Sent gzip-encoded when the client accepts it; `ETag` is the version, and \
        `If-None-Match` with it answers 304 while nothing changed. Holds made through the \
        answering instance show at once, those made elsewhere within a second.",
    params(("scheduleId" = Uuid, Path), ("X-Queue-Token" = String, Header),
           ("If-None-Match" = Option<String>, Header)),
    security(("apiKey" = [])),
    responses((status = 200, body = SeatMap), (status = 304, description = "not modified"),
              (status = 404, description = "SCHEDULE_NOT_FOUND"), (status = 422)))]
pub async fn seatmap(
    State(state): State<AppState>,
    gate: Gated,
    Path(schedule_id): Path<Uuid>,
    headers: HeaderMap,
) -> Result<Response> {
    let ticket = state.queue_ticket(&gate).await?;
    let schedule = state.schedule(schedule_id).await?;
    ticket.admits(schedule.concert_id)?;
    let layout = state.layout(schedule_id).await?;
    let now = clock::now();
    // Most reads find the encoded map current: no copy of the schedule's states then.
    let current = state
        .seat_states
        .changes(schedule_id, layout.places, now)
        .and_then(|c| state.seat_maps.current(schedule_id, c, now));
    let map = match current {
        Some(map) => map,
        None => {
            let snap = state
                .seat_states
                .snapshot(schedule_id, layout.places, now)
                .await?;
            state.seat_maps.get(schedule_id, &layout, &snap, now)?
        }
    };
    let mut out = if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == map.etag.as_bytes())
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else if accepts_gzip(&headers) {
        let mut r = Response::new(Body::from(map.gzip.clone()));
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else {
        Response::new(Body::from(map.json.clone()))
    };
    let ok = out.status() == StatusCode::OK;
    let h = out.headers_mut();
    h.insert(header::ETAG, map.etag.clone());
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if ok {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    Ok(out)
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|e| {
            let mut parts = e.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|q| matches!(q.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_sent_only_when_accepted() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
            accepts_gzip(&h)
        };
        assert!(with("gzip, deflate, br"));
        assert!(with("br;q=1.0, gzip;q=0.8"));
        assert!(with("*"));
        assert!(!with("br"));
        assert!(!with("gzip;q=0"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
