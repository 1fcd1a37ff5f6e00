//! `serve --demo`: a few sample concerts with open schedules, seeded only into an empty database.

use uuid::Uuid;

use crate::catalogue::{Concert, Schedule};
use crate::clock;
use crate::error::Result;
use crate::money::Money;
use crate::store::Store;

const DAY: i64 = 24 * 60 * 60 * 1000;

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
            50,
            88_000,
        ),
        (
            "한강 재즈 나이트",
            "Han River Quartet",
            "Blue Square, Seoul",
            2,
            40,
            66_000,
        ),
        (
            "Neon Parade Live",
            "Neon Parade",
            "KSPO Dome",
            2,
            100,
            132_000,
        ),
    ];
    for (title, performer, venue, dates, seats, price) in concerts {
        let concert = Concert {
            id: Uuid::now_v7(),
            title: title.into(),
            performer: performer.into(),
            venue: Some(venue.into()),
            created_at: now,
        };
        store.create_concert(&concert).await?;
        for d in 0..dates {
            let starts_at = now + (14 + 7 * d) * DAY;
            let schedule = Schedule {
                id: Uuid::now_v7(),
                concert_id: concert.id,
                starts_at,
                booking_opens_at: now - DAY,
                booking_closes_at: starts_at - DAY,
                seat_count: seats,
                available_seats: seats,
                price: Money(price),
                bookable: true,
            };
            store.create_schedule(&schedule, now).await?;
        }
    }
    tracing::info!(
        concerts = concerts.len(),
        "added demo concerts: {}",
        concerts.map(|c| c.0).join(", ")
    );
    Ok(())
}
