//! What an order asks for (`POST /reservations`): one seat by number, seats by label, or a
//! quantity of a section or grade, turned into the places the database is asked to hold.
//!
//! Best available is picked here from the seat states this instance knows (at most a second
//! old): adjacent seats in one row first, front rows first; then a standing section with room
//! for the whole order; then the first free seats. The pick is only a proposal: the database
//! holds it all or nothing, and a pick that lost a race is retried without the places it tried.

use std::collections::HashSet;

use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::Places;
use crate::catalogue::plan::{Kind, Layout};
use crate::catalogue::seat_states::Snapshot;
use crate::error::{Error, Result};

/// One of four forms: `seatNumber`; `seats`; `section` + `quantity`; `grade` + `quantity`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewReservation {
    pub schedule_id: Uuid,
    /// One seat by number, 1 to the schedule's seat count (part 1); any other number is 404
    /// SEAT_NOT_FOUND.
    pub seat_number: Option<i64>,
    /// Seats by label (`A-1-7`), 1 to ENCORE_MAX_SEATS_PER_ORDER (default 4), each once; an
    /// unknown label is 404 SEAT_NOT_FOUND.
    #[schema(min_items = 1, max_items = 20)]
    pub seats: Option<Vec<String>>,
    /// Best available in this section (a standing section: that many places); with `quantity`.
    pub section: Option<String>,
    /// Best available in this grade; with `quantity`.
    pub grade: Option<String>,
    /// Places for `section` or `grade`, 1 to ENCORE_MAX_SEATS_PER_ORDER (default 4).
    #[schema(minimum = 1, maximum = 20)]
    pub quantity: Option<i64>,
}

/// A checked order, before any place is picked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Order {
    /// Named seats, ascending.
    Seats(Vec<i64>),
    /// `quantity` places of the best available among these sections (indexes, plan order).
    Best { sections: Vec<usize>, quantity: i64 },
}

impl NewReservation {
    pub fn order(&self, layout: &Layout, max: u32) -> Result<Order> {
        let max = i64::from(max);
        let quantity = || match self.quantity {
            Some(q) if (1..=max).contains(&q) => Ok(q),
            Some(_) => Err(Error::validation(format!("quantity must be 1 to {max}"))),
            None => Err(Error::validation(
                "quantity is required with section or grade",
            )),
        };
        let forms = [
            self.seat_number.is_some(),
            self.seats.is_some(),
            self.section.is_some(),
            self.grade.is_some(),
        ];
        if forms.iter().filter(|&&f| f).count() != 1 {
            return Err(Error::validation(
                "give exactly one of seatNumber, seats, section or grade",
            ));
        }
        if self.quantity.is_some() && self.section.is_none() && self.grade.is_none() {
            return Err(Error::validation("quantity goes with section or grade"));
        }
        if let Some(n) = self.seat_number {
            // Any number that is not a seat of the map names no seat.
            if !(1..=layout.seats).contains(&n) {
                return Err(Error::SeatNotFound);
            }
            return Ok(Order::Seats(vec![n]));
        }
        if let Some(labels) = &self.seats {
            if labels.is_empty() || labels.len() as i64 > max {
                return Err(Error::validation(format!(
                    "seats must name 1 to {max} seats"
                )));
            }
            let mut numbers = Vec::with_capacity(labels.len());
            let mut seen = HashSet::new();
            for label in labels {
                if !seen.insert(label.as_str()) {
                    return Err(Error::validation(format!("seats names {label} twice")));
                }
                numbers.push(layout.seat_number(label).ok_or(Error::SeatNotFound)?);
            }
            numbers.sort_unstable();
            return Ok(Order::Seats(numbers));
        }
        let sections = if let Some(code) = &self.section {
            let i = layout
                .sections
                .iter()
                .position(|s| &s.code == code)
                .ok_or_else(|| Error::validation(format!("section {code} is not in the plan")))?;
            vec![i]
        } else {
            let code = self.grade.as_deref().unwrap_or_default();
            let g = layout
                .grade_index(code)
                .ok_or_else(|| Error::validation(format!("grade {code} is not in the plan")))?;
            (0..layout.sections.len())
                .filter(|&i| layout.sections[i].grade == g)
                .collect()
        };
        Ok(Order::Best {
            sections,
            quantity: quantity()?,
        })
    }
}

impl Order {
    /// The places to ask the database for, skipping `tried` (places a pick already lost).
    pub fn pick(&self, layout: &Layout, snap: &Snapshot, tried: &HashSet<i64>) -> Result<Places> {
        let (sections, q) = match self {
            Order::Seats(numbers) => return Ok(Places::Seats(numbers.clone())),
            Order::Best { sections, quantity } => (sections, *quantity),
        };
        let free = |n: i64| snap.is_free(n) && !tried.contains(&n);
        let seated = || {
            sections
                .iter()
                .filter_map(|&i| match &layout.sections[i].kind {
                    Kind::Seated(rows) => Some(rows),
                    Kind::Standing(_) => None,
                })
        };
        // Adjacent seats in one row, front rows first.
        for rows in seated() {
            for row in rows {
                let mut run = 0;
                for n in row.first..row.first + i64::from(row.seats) {
                    run = if free(n) { run + 1 } else { 0 };
                    if run == q {
                        return Ok(Places::Seats((n - q + 1..=n).collect()));
                    }
                }
            }
        }
        // A standing section with room for the whole order: the database takes the places.
        for &i in sections {
            let s = &layout.sections[i];
            if s.is_standing() {
                let r = s.range();
                if snap.free_in(*r.start(), *r.end()) >= q {
                    return Ok(Places::Count {
                        first: *r.start(),
                        last: *r.end(),
                        count: q,
                    });
                }
            }
        }
        // The first free seats, wherever they are.
        let mut picked = Vec::new();
        for rows in seated() {
            for row in rows {
                for n in row.first..row.first + i64::from(row.seats) {
                    if free(n) {
                        picked.push(n);
                        if picked.len() as i64 == q {
                            return Ok(Places::Seats(picked));
                        }
                    }
                }
            }
        }
        Err(Error::SeatUnavailable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::plan::Plan;
    use crate::clock::Millis;
    use serde_json::json;

    fn layout() -> Layout {
        Plan::sample().layout().unwrap()
    }

    fn snap(state: &[u8]) -> Snapshot {
        Snapshot {
            state: state.to_vec(),
            changes: 0,
            next_lapse: Millis::MAX,
        }
    }

    fn body(v: serde_json::Value) -> NewReservation {
        let mut v = v;
        v["scheduleId"] = serde_json::json!(Uuid::nil());
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn orders_name_seats_or_a_quantity_of_a_section_or_grade() {
        let l = layout();
        let order = |v| body(v).order(&l, 4);
        assert_eq!(
            order(json!({"seatNumber": 9})).unwrap(),
            Order::Seats(vec![9])
        );
        assert_eq!(
            order(json!({"seats": ["A-2-1", "A-1-4"]})).unwrap(),
            Order::Seats(vec![4, 5])
        );
        assert!(matches!(
            order(json!({"seats": ["A-3-1"]})),
            Err(Error::SeatNotFound)
        ));
        assert!(matches!(
            order(json!({"seatNumber": 11})),
            Err(Error::SeatNotFound)
        ));
        assert!(matches!(
            order(json!({"seats": ["A-1-1", "A-1-1"]})),
            Err(Error::Validation(_))
        ));
        assert!(matches!(
            order(json!({"seats": []})),
            Err(Error::Validation(_))
        ));
        let five = json!({"seats": ["A-1-1", "A-1-2", "A-1-3", "A-1-4", "A-2-1"]});
        assert!(matches!(order(five), Err(Error::Validation(_))));
        assert_eq!(
            order(json!({"grade": "VIP", "quantity": 2})).unwrap(),
            Order::Best {
                sections: vec![0, 1],
                quantity: 2
            }
        );
        for bad in [
            json!({"section": "A"}),
            json!({"section": "A", "quantity": 0}),
            json!({"section": "A", "quantity": 5}),
            json!({"section": "Z", "quantity": 1}),
            json!({"grade": "S", "quantity": 1}),
            json!({"seatNumber": 1, "quantity": 1}),
            json!({"seatNumber": 1, "section": "A", "quantity": 1}),
            json!({}),
        ] {
            assert!(
                matches!(order(bad.clone()), Err(Error::Validation(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn best_available_prefers_a_block_in_a_row_then_standing_then_any_seats() {
        let l = layout();
        let best = |q| Order::Best {
            sections: vec![0, 1],
            quantity: q,
        };
        let none = HashSet::new();
        // Row 1 has seats 1, 3, 4 free; the block of two is 3-4.
        let s = snap(b"AHAAAAAAAAAAA");
        assert_eq!(
            best(2).pick(&l, &s, &none).unwrap(),
            Places::Seats(vec![3, 4])
        );
        // A block of four only in row 2.
        assert_eq!(
            best(4).pick(&l, &s, &none).unwrap(),
            Places::Seats(vec![5, 6, 7, 8])
        );
        // No row has three together: the standing section has room.
        let s = snap(b"AHAHAHAHSSAAA");
        assert_eq!(
            best(3).pick(&l, &s, &none).unwrap(),
            Places::Count {
                first: 11,
                last: 13,
                count: 3
            }
        );
        // Standing is full too: the first free seats.
        let s = snap(b"AHAHAHAHSSSAA");
        assert_eq!(
            best(3).pick(&l, &s, &none).unwrap(),
            Places::Seats(vec![1, 3, 5])
        );
        assert!(matches!(
            best(5).pick(&l, &s, &none),
            Err(Error::SeatUnavailable)
        ));
        // A pick that lost skips what it tried.
        let tried: HashSet<i64> = [1, 3].into();
        let in_a = Order::Best {
            sections: vec![0],
            quantity: 2,
        };
        assert_eq!(
            in_a.pick(&l, &s, &tried).unwrap(),
            Places::Seats(vec![5, 7])
        );
    }
}
