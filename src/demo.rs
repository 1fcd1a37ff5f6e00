//! `serve --demo`: sample concerts with open schedules, seeded only into an empty database —
//! three small halls and a 15,000-place arena with a standing floor, three tiers and four grades.

use serde_json::json;
use uuid::Uuid;

use crate::catalogue::plan::Plan;
use crate::catalogue::{Concert, Schedule, ScheduleStatus};
use crate::clock;
use crate::error::{Error, Result};
use crate::store::Store;

const DAY: i64 = 24 * 60 * 60 * 1000;

/// KSPO Dome-like: a standing floor of 3,000, then three tiers of seats, 15,000 places in all.
fn arena() -> Plan {
    let rows = |n: usize, seats: u32| -> Vec<serde_json::Value> {
        (1..=n)
            .map(|r| json!({"row": r.to_string(), "seats": seats}))
            .collect()
    };
    let mut sections =
        vec![json!({"code": "FLOOR", "name": "Standing floor", "grade": "VIP", "standing": 3000})];
    for (tier, grade, blocks, rows_per, seats) in [
        ("1", "R", 8, 20, 25), // 4,000
        ("2", "S", 8, 20, 25), // 4,000
        ("3", "A", 8, 20, 25), // 4,000
    ] {
        for b in 1..=blocks {
            sections.push(json!({
                "code": format!("{tier}{}", (b'A' + b - 1) as char),
                "name": format!("Tier {tier}, block {}", (b'A' + b - 1) as char),
                "grade": grade,
                "rows": rows(rows_per, seats),
            }));
        }
    }
    serde_json::from_value(json!({
        "grades": [
            {"code": "VIP", "name": "VIP 스탠딩", "price": 198000},
            {"code": "R", "name": "R석", "price": 165000},
            {"code": "S", "name": "S석", "price": 143000},
            {"code": "A", "name": "A석", "price": 110000}],
        "sections": sections,
    }))
    .expect("the demo arena is a valid plan")
}

pub async fn seed(store: &dyn Store) -> Result<()> {
    if !store.is_empty().await? {
        tracing::info!("database has concerts already; demo data not added");
        return Ok(());
    }
    let now = clock::now();
    let concerts = [
        (
            "Aurora Strings — Winter Tour",
            "Aurora Strings",
            "Seoul Arts Center",
            3,
            Plan::single(50, 88_000),
        ),
        (
            "한강 재즈 나이트",
            "Han River Quartet",
            "Blue Square, Seoul",
            2,
            Plan::single(40, 66_000),
        ),
        ("Neon Parade Live", "Neon Parade", "KSPO Dome", 2, arena()),
    ];
    let titles: Vec<&str> = concerts.iter().map(|c| c.0).collect();
    for (title, performer, venue, dates, plan) in concerts {
        let concert = Concert {
            id: Uuid::now_v7(),
            title: title.into(),
            performer: performer.into(),
            venue: Some(venue.into()),
            created_at: now,
            on_sale_at: None,
            sold_out: false,
            refund_policy: None,
        };
        store.create_concert(&concert).await?;
        let layout = plan
            .layout()
            .map_err(|e| Error::internal(format!("demo plan: {e}")))?;
        for d in 0..dates {
            let starts_at = now + (14 + 7 * d) * DAY;
            let schedule = Schedule {
                id: Uuid::now_v7(),
                concert_id: concert.id,
                starts_at,
                booking_opens_at: now - DAY,
                booking_closes_at: starts_at - DAY,
                seat_count: layout.places,
                available_seats: layout.places,
                price: layout.lowest_price(),
                bookable: true,
                grades: Vec::new(),
                status: ScheduleStatus::Scheduled,
            };
            store
                .create_schedule(&schedule, &plan, &layout, now)
                .await?;
        }
    }
    tracing::info!(
        concerts = titles.len(),
        "added demo concerts: {}",
        titles.join(", ")
    );
    Ok(())
}
