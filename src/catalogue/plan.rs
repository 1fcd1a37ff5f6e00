//! Seating plans: grades with prices, sections of rows of seats or standing places, and the
//! layout every schedule's seats are numbered by.
//!
//! Places are numbered once, when the schedule is made, and the numbering is what the database
//! knows: seats 1..=S in plan order (sections, rows, seats), then the standing places of each
//! standing section, S+1..=S+T, in plan order. So every section and every row is a contiguous
//! range of numbers, and a label (`A-1-7`) or a standing section turns into numbers without a
//! database read. Standing places have numbers only inside encore; the API sells them by count.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{Error, Result};
use crate::money::Money;

/// Most places in one schedule (seats plus standing capacity).
pub const MAX_PLACES: i64 = 70_000;
/// Largest price of a grade, in won.
pub const MAX_PRICE: i64 = 100_000_000;
const MAX_GRADES: usize = 50;
const MAX_SECTIONS: usize = 1_000;
const MAX_ROWS: usize = 1_000;
/// Seats in one row: part 1's schedules are one row of up to 2,000 seats.
const MAX_SEATS_PER_ROW: u32 = 2_000;
/// Code of the grade and section a part-1 schedule (`seatCount` + `price`) is given.
pub const GENERAL: &str = "GENERAL";
pub const MAIN: &str = "MAIN";

/// A seating plan as an admin sends it (and as it is stored with the schedule).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// 1 to 50 grades; codes unique.
    #[schema(min_items = 1, max_items = 50)]
    pub grades: Vec<GradeSpec>,
    /// 1 to 1,000 sections in plan order (front first); codes unique. 1 to 70,000 places in all.
    #[schema(min_items = 1, max_items = 1000)]
    pub sections: Vec<SectionSpec>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GradeSpec {
    /// 1–16 characters `[A-Za-z0-9_-]`.
    #[schema(min_length = 1, max_length = 16, pattern = "^[A-Za-z0-9_-]{1,16}$")]
    pub code: String,
    /// 1–100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// 1 to 100,000,000 won.
    #[schema(minimum = 1, maximum = 100_000_000)]
    pub price: i64,
}

/// A section is either seated (`rows`) or standing (`standing` places sold by count).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SectionSpec {
    /// 1–16 characters `[A-Za-z0-9_-]`.
    #[schema(min_length = 1, max_length = 16, pattern = "^[A-Za-z0-9_-]{1,16}$")]
    pub code: String,
    /// 1–100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// The code of one of the plan's grades.
    pub grade: String,
    /// Seated: 1 to 1,000 rows in order (front first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_items = 1, max_items = 1000)]
    pub rows: Option<Vec<RowSpec>>,
    /// Standing: the number of places, 1 to 70,000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 70_000)]
    pub standing: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RowSpec {
    /// The row's name, 1–16 characters `[A-Za-z0-9_]` (no `-`: it separates a label's parts).
    #[schema(min_length = 1, max_length = 16, pattern = "^[A-Za-z0-9_]{1,16}$")]
    pub row: String,
    /// Seats in the row, 1 to 2,000, numbered 1..seats.
    #[schema(minimum = 1, maximum = 2000)]
    pub seats: u32,
}

impl Plan {
    /// The plan of a part-1 schedule: one grade, one section, one row of `seats`.
    pub fn single(seats: u32, price: i64) -> Plan {
        Plan {
            grades: vec![GradeSpec {
                code: GENERAL.into(),
                name: "General".into(),
                price,
            }],
            sections: vec![SectionSpec {
                code: MAIN.into(),
                name: "Main".into(),
                grade: GENERAL.into(),
                rows: Some(vec![RowSpec {
                    row: "1".into(),
                    seats,
                }]),
                standing: None,
            }],
        }
    }

    /// Checks every rule and numbers the places; the error names the offending field.
    pub fn layout(&self) -> Result<Layout> {
        let bad = |field: String, why: &str| Error::validation(format!("plan.{field}: {why}"));
        if self.grades.is_empty() || self.grades.len() > MAX_GRADES {
            return Err(bad("grades".into(), "must have 1 to 50 grades"));
        }
        if self.sections.is_empty() || self.sections.len() > MAX_SECTIONS {
            return Err(bad("sections".into(), "must have 1 to 1000 sections"));
        }
        let mut grade_index = HashMap::new();
        let mut grades = Vec::with_capacity(self.grades.len());
        for (i, g) in self.grades.iter().enumerate() {
            code(&g.code).map_err(|why| bad(format!("grades[{i}].code"), why))?;
            name(&g.name).map_err(|why| bad(format!("grades[{i}].name"), why))?;
            if !(1..=MAX_PRICE).contains(&g.price) {
                return Err(bad(
                    format!("grades[{i}].price"),
                    "must be 1 to 100000000 won",
                ));
            }
            if grade_index.insert(g.code.as_str(), i).is_some() {
                return Err(bad(format!("grades[{i}].code"), "is used twice"));
            }
            grades.push(Grade {
                code: g.code.clone(),
                name: g.name.trim().to_owned(),
                price: Money(g.price),
            });
        }
        let mut seen = HashMap::new();
        let mut sections = Vec::with_capacity(self.sections.len());
        let (mut seats, mut standing) = (0i64, 0i64);
        for (i, s) in self.sections.iter().enumerate() {
            code(&s.code).map_err(|why| bad(format!("sections[{i}].code"), why))?;
            name(&s.name).map_err(|why| bad(format!("sections[{i}].name"), why))?;
            if seen.insert(s.code.as_str(), i).is_some() {
                return Err(bad(format!("sections[{i}].code"), "is used twice"));
            }
            let grade = *grade_index
                .get(s.grade.as_str())
                .ok_or_else(|| bad(format!("sections[{i}].grade"), "names no grade of the plan"))?;
            let kind = match (&s.rows, s.standing) {
                (Some(rows), None) => {
                    if rows.is_empty() || rows.len() > MAX_ROWS {
                        return Err(bad(
                            format!("sections[{i}].rows"),
                            "must have 1 to 1000 rows",
                        ));
                    }
                    let mut names = HashMap::new();
                    let mut laid = Vec::with_capacity(rows.len());
                    for (j, r) in rows.iter().enumerate() {
                        let field = format!("sections[{i}].rows[{j}]");
                        row_name(&r.row).map_err(|why| bad(format!("{field}.row"), why))?;
                        if names.insert(r.row.as_str(), j).is_some() {
                            return Err(bad(format!("{field}.row"), "is used twice"));
                        }
                        if !(1..=MAX_SEATS_PER_ROW).contains(&r.seats) {
                            return Err(bad(format!("{field}.seats"), "must be 1 to 2000"));
                        }
                        laid.push(Row {
                            name: r.row.clone(),
                            first: seats + 1,
                            seats: r.seats,
                        });
                        seats += i64::from(r.seats);
                        if seats + standing > MAX_PLACES {
                            return Err(bad("sections".into(), "has more than 70000 places"));
                        }
                    }
                    Kind::Seated(laid)
                }
                (None, Some(n)) => {
                    if !(1..=MAX_PLACES).contains(&n) {
                        return Err(bad(format!("sections[{i}].standing"), "must be 1 to 70000"));
                    }
                    standing += n;
                    if seats + standing > MAX_PLACES {
                        return Err(bad("sections".into(), "has more than 70000 places"));
                    }
                    Kind::Standing(n)
                }
                _ => {
                    return Err(bad(
                        format!("sections[{i}]"),
                        "needs either rows or standing, not both",
                    ));
                }
            };
            sections.push(Section {
                code: s.code.clone(),
                name: s.name.trim().to_owned(),
                grade,
                first: 0,
                kind,
            });
        }
        // Standing places follow every seat, each standing section in plan order.
        let mut next = seats + 1;
        for section in &mut sections {
            section.first = match &section.kind {
                Kind::Seated(rows) => rows[0].first,
                Kind::Standing(n) => {
                    let first = next;
                    next += n;
                    first
                }
            };
        }
        let by_code = sections
            .iter()
            .enumerate()
            .map(|(i, s)| (s.code.clone(), i))
            .collect();
        Ok(Layout {
            grades,
            sections,
            seats,
            places: seats + standing,
            by_code,
        })
    }
}

fn code(s: &str) -> std::result::Result<(), &'static str> {
    let ok = (1..=16).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    ok.then_some(())
        .ok_or("must be 1 to 16 characters of A-Z, a-z, 0-9, _ and -")
}

fn row_name(s: &str) -> std::result::Result<(), &'static str> {
    let ok =
        (1..=16).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    ok.then_some(())
        .ok_or("must be 1 to 16 characters of A-Z, a-z, 0-9 and _")
}

fn name(s: &str) -> std::result::Result<(), &'static str> {
    let n = s.trim().chars().count();
    (1..=100)
        .contains(&n)
        .then_some(())
        .ok_or("must be 1 to 100 characters")
}

#[derive(Debug, Clone)]
pub struct Grade {
    pub code: String,
    pub name: String,
    pub price: Money,
}

#[derive(Debug, Clone)]
pub struct Row {
    pub name: String,
    /// Number of the row's seat 1.
    pub first: i64,
    pub seats: u32,
}

#[derive(Debug, Clone)]
pub enum Kind {
    Seated(Vec<Row>),
    /// Capacity.
    Standing(i64),
}

#[derive(Debug, Clone)]
pub struct Section {
    pub code: String,
    pub name: String,
    /// Index into `Layout::grades`.
    pub grade: usize,
    /// Number of the section's first place.
    pub first: i64,
    pub kind: Kind,
}

impl Section {
    /// Places in the section.
    pub fn len(&self) -> i64 {
        match &self.kind {
            Kind::Seated(rows) => rows.iter().map(|r| i64::from(r.seats)).sum(),
            Kind::Standing(n) => *n,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The section's numbers, `first..=last`.
    pub fn range(&self) -> std::ops::RangeInclusive<i64> {
        self.first..=self.first + self.len() - 1
    }

    pub fn is_standing(&self) -> bool {
        matches!(self.kind, Kind::Standing(_))
    }
}

/// Where a place is, found from its number.
#[derive(Debug, Clone)]
pub struct Spot<'a> {
    pub section: &'a Section,
    /// Seated: the row and the seat's 1-based number in it.
    pub seat: Option<(&'a Row, u32)>,
}

/// A checked plan with every place numbered; immutable once the schedule exists.
#[derive(Debug, Clone)]
pub struct Layout {
    pub grades: Vec<Grade>,
    pub sections: Vec<Section>,
    /// Seats (numbers 1..=seats); standing places follow.
    pub seats: i64,
    /// Seats plus standing capacity.
    pub places: i64,
    by_code: HashMap<String, usize>,
}

impl Layout {
    pub fn section(&self, code: &str) -> Option<&Section> {
        self.by_code.get(code).map(|&i| &self.sections[i])
    }

    pub fn grade_index(&self, code: &str) -> Option<usize> {
        self.grades.iter().position(|g| g.code == code)
    }

    /// The lowest grade price (a schedule's `price`).
    pub fn lowest_price(&self) -> Money {
        self.grades
            .iter()
            .map(|g| g.price)
            .min()
            .unwrap_or(Money(0))
    }

    /// The number of the seat labelled `{section}-{row}-{n}`.
    pub fn seat_number(&self, label: &str) -> Option<i64> {
        let (rest, n) = label.rsplit_once('-')?;
        let (section, row) = rest.rsplit_once('-')?;
        let n: u32 = n.parse().ok()?;
        let Kind::Seated(rows) = &self.section(section)?.kind else {
            return None;
        };
        let row = rows.iter().find(|r| r.name == row)?;
        (1..=row.seats)
            .contains(&n)
            .then(|| row.first + i64::from(n) - 1)
    }

    /// Where place `number` is.
    pub fn spot(&self, number: i64) -> Option<Spot<'_>> {
        if !(1..=self.places).contains(&number) {
            return None;
        }
        let section = self.sections.iter().find(|s| s.range().contains(&number))?;
        let seat = match &section.kind {
            Kind::Seated(rows) => {
                let i = rows.partition_point(|r| r.first <= number) - 1;
                let row = &rows[i];
                Some((row, (number - row.first + 1) as u32))
            }
            Kind::Standing(_) => None,
        };
        Some(Spot { section, seat })
    }

    /// A place's label: `A-1-7` for a seat, the section's code for a standing place.
    pub fn label(&self, number: i64) -> Option<String> {
        let spot = self.spot(number)?;
        Some(match spot.seat {
            Some((row, n)) => format!("{}-{}-{n}", spot.section.code, row.name),
            None => spot.section.code.clone(),
        })
    }

    /// A place's price: its section's grade's.
    pub fn price(&self, number: i64) -> Option<Money> {
        Some(self.grades[self.spot(number)?.section.grade].price)
    }
}

#[cfg(test)]
impl Plan {
    /// The small venue of the unit tests: seats 1–8 in section A (two rows of four), 9–10 in
    /// B-2 (row AA), and three standing places, 11–13, in GA.
    pub fn sample() -> Plan {
        serde_json::from_value(serde_json::json!({
            "grades": [{"code": "VIP", "name": "VIP석", "price": 100},
                       {"code": "R", "name": "R석", "price": 50}],
            "sections": [
                {"code": "A", "name": "Floor A", "grade": "VIP",
                 "rows": [{"row": "1", "seats": 4}, {"row": "2", "seats": 4}]},
                {"code": "GA", "name": "Standing", "grade": "VIP", "standing": 3},
                {"code": "B-2", "name": "Tier B", "grade": "R",
                 "rows": [{"row": "AA", "seats": 2}]}]
        }))
        .unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seats_are_numbered_in_plan_order_and_standing_places_after_them() {
        let l = Plan::sample().layout().unwrap();
        assert_eq!((l.seats, l.places), (10, 13));
        assert_eq!(l.seat_number("A-1-1"), Some(1));
        assert_eq!(l.seat_number("A-2-1"), Some(5));
        assert_eq!(l.seat_number("B-2-AA-2"), Some(10));
        assert_eq!(l.section("GA").unwrap().range(), 11..=13);
        assert_eq!(l.label(5).as_deref(), Some("A-2-1"));
        assert_eq!(l.label(9).as_deref(), Some("B-2-AA-1"));
        assert_eq!(l.label(11).as_deref(), Some("GA"));
        assert_eq!(l.price(11), Some(Money(100)));
        assert_eq!(l.price(9), Some(Money(50)));
        assert_eq!(l.lowest_price(), Money(50));
        for missing in ["A-1-5", "A-3-1", "A-1-0", "Z-1-1", "GA-1-1", "A1-7", ""] {
            assert_eq!(l.seat_number(missing), None, "{missing}");
        }
        assert!(l.spot(0).is_none() && l.spot(14).is_none());
        for n in 1..=l.seats {
            assert_eq!(l.seat_number(&l.label(n).unwrap()), Some(n));
        }
    }

    #[test]
    fn a_part_one_schedule_is_one_row_of_one_section() {
        assert_eq!(Plan::single(2000, 1000).layout().unwrap().places, 2000);
        let l = Plan::single(50, 1000).layout().unwrap();
        assert_eq!((l.seats, l.places), (50, 50));
        assert_eq!(l.label(7).as_deref(), Some("MAIN-1-7"));
    }

    #[test]
    fn bad_plans_name_the_field() {
        let check = |edit: fn(&mut Plan), field: &str| {
            let mut p = Plan::sample();
            edit(&mut p);
            let Err(Error::Validation(detail)) = p.layout() else {
                panic!("{field} accepted");
            };
            assert!(detail.starts_with(&format!("plan.{field}")), "{detail}");
        };
        check(|p| p.sections[2].grade = "S".into(), "sections[2].grade");
        check(|p| p.grades[1].code = "VIP".into(), "grades[1].code");
        check(|p| p.grades[0].price = 0, "grades[0].price");
        check(|p| p.sections[0].code = "a b".into(), "sections[0].code");
        check(|p| p.sections[1].code = "A".into(), "sections[1].code");
        check(|p| p.sections[1].standing = Some(70_000), "sections");
        check(|p| p.sections[1].rows = Some(vec![]), "sections[1]");
        check(
            |p| p.sections[0].rows.as_mut().unwrap()[1].row = "1".into(),
            "sections[0].rows[1].row",
        );
        check(
            |p| p.sections[0].rows.as_mut().unwrap()[0].row = "1-2".into(),
            "sections[0].rows[0].row",
        );
        check(|p| p.sections.clear(), "sections");
        check(|p| p.grades[0].name = " ".into(), "grades[0].name");
    }

    #[test]
    fn seventy_thousand_places_fit_and_one_more_does_not() {
        let mut p = Plan::single(1000, 1000);
        let rows: Vec<RowSpec> = (0..70)
            .map(|i| RowSpec {
                row: format!("R{i}"),
                seats: 1000,
            })
            .collect();
        p.sections[0].rows = Some(rows);
        assert_eq!(p.layout().unwrap().places, 70_000);
        p.sections.push(SectionSpec {
            code: "X".into(),
            name: "One more".into(),
            grade: GENERAL.into(),
            rows: None,
            standing: Some(1),
        });
        assert!(p.layout().is_err());
    }
}
