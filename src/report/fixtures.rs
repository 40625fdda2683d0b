//! The sample board the report's unit tests share: the built-in catalogue at 2023-06
//! with a few readings. Compiled for tests only.

use super::{Board, BoardRow};
use crate::catalogue::Catalogue;
use crate::domain::Period;
use crate::engine::evaluate;

fn p(m: u8) -> Period {
    Period::new(2023, m).unwrap()
}

/// The builtin catalogue at 2023-06 with a few readings:
/// tech-sme-registered 62 of 150 (behind), gdp-growth 7.9 (on track), import-export
/// 3 of 14.8 亿元 (severely behind), the between 15–20% drug reserve at 17 (on track),
/// cpi at −0.3 (on track); everything else has no data.
pub(crate) fn sample_board() -> Board {
    let cat = Catalogue::builtin().unwrap();
    let as_of = p(6);
    let readings = |id: &str| -> Vec<(Period, f64)> {
        match id {
            "tech-sme-registered" => vec![(p(3), 30.0), (p(6), 62.0)],
            "gdp-growth" => vec![(p(3), 7.5), (p(6), 7.9)],
            "import-export-value" => vec![(p(2), 1.0), (p(5), 3.0)],
            "primary-care-drug-reserve-population-share" => vec![(p(3), 16.0), (p(6), 17.0)],
            "cpi" => vec![(p(4), 0.4), (p(6), -0.3)],
            _ => vec![],
        }
    };
    let rows = cat
        .entries
        .iter()
        .map(|(ind, t)| {
            let series = readings(ind.id.as_str());
            let attainment = evaluate(ind, t.as_ref(), &series, as_of);
            std::sync::Arc::new(BoardRow {
                indicator: ind.clone(),
                attainment,
                series,
            })
        })
        .collect();
    Board {
        as_of,
        region: cat.region,
        document: cat.document,
        groups: cat.plan.groups.clone(),
        plan: Some(cat.plan),
        rows,
    }
}

pub(crate) fn row<'a>(board: &'a Board, id: &str) -> &'a BoardRow {
    board
        .rows
        .iter()
        .find(|r| r.indicator.id.as_str() == id)
        .unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Status;

    #[test]
    fn the_sample_board_has_the_statuses_the_tests_rely_on() {
        let b = sample_board();
        assert_eq!(b.rows.len(), 203);
        let st = |id| row(&b, id).attainment.status;
        assert_eq!(st("tech-sme-registered"), Status::Behind);
        assert_eq!(st("gdp-growth"), Status::OnTrack);
        assert_eq!(st("import-export-value"), Status::SeverelyBehind);
        assert_eq!(
            st("primary-care-drug-reserve-population-share"),
            Status::OnTrack
        );
        assert_eq!(st("new-urban-jobs"), Status::NoData);
    }
}
