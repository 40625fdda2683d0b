//! Indicators named the way offices name them: by 指标名称 rather than by id.
//!
//! A bureau's spreadsheet carries the Chinese name of each indicator, not zhibiao's id.
//! A name is only unique within one region's plan (every county has its 地区生产总值增长),
//! so a name is looked up among the indicators of one region: the row's own 地区 when
//! it gives one, otherwise the submitter's region. The [`NameIndex`] maps region and
//! name to ids; a province's store holds about 100,000 indicators, so it is built once
//! per store change (kept in the [`super::Memo`]) and only when a batch names an
//! indicator by name at all, never scanned per row.
//!
//! A [`Resolver`] answers for the rows of one batch: an id that exists is that
//! indicator; anything else is a name. What cannot be resolved is a [`Refusal`] with a
//! Chinese message for the clerk, naming the region, the close names when there are
//! some, or both ids when a region has two indicators of that name.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::{Queries, Result};
use crate::domain::{Indicator, IndicatorId};

/// How many close names a not-found message offers.
pub const MAX_CLOSE_NAMES: usize = 5;

/// How many distinct missing names of one batch are given close names: finding them
/// walks the region's names, and a batch of 200,000 misspelt rows must not walk them
/// 200,000 times.
pub const MAX_SUGGESTED_MISSES: usize = 100;

/// Indicator ids by region and name (trimmed), built from every indicator.
#[derive(Debug, Default)]
pub struct NameIndex {
    regions: HashMap<String, BTreeMap<String, Vec<IndicatorId>>>,
}

impl NameIndex {
    /// The index of `indicators`.
    pub fn build<'a>(indicators: impl IntoIterator<Item = &'a Indicator>) -> NameIndex {
        let mut regions: HashMap<String, BTreeMap<String, Vec<IndicatorId>>> = HashMap::new();
        for ind in indicators {
            regions
                .entry(ind.region.clone())
                .or_default()
                .entry(ind.name.trim().to_string())
                .or_default()
                .push(ind.id.clone());
        }
        for names in regions.values_mut() {
            for ids in names.values_mut() {
                ids.sort();
            }
        }
        NameIndex { regions }
    }

    /// The ids of `region`'s indicators named `name` (trimmed): none, one, or several
    /// when the region's plan names two alike.
    pub fn find(&self, region: &str, name: &str) -> &[IndicatorId] {
        self.regions
            .get(region)
            .and_then(|names| names.get(name.trim()))
            .map_or(&[], Vec::as_slice)
    }

    /// Names of `region`'s indicators close to `name`: containing it, contained in it,
    /// or sharing its first two characters or more; the closest first, at most
    /// [`MAX_CLOSE_NAMES`].
    pub fn close_names(&self, region: &str, name: &str) -> Vec<&str> {
        let name = name.trim();
        let Some(names) = self.regions.get(region) else {
            return Vec::new();
        };
        if name.is_empty() {
            return Vec::new();
        }
        let mut scored: Vec<(usize, &str)> = names
            .keys()
            .filter_map(|n| closeness(name, n).map(|s| (s, n.as_str())))
            .collect();
        scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
        scored
            .into_iter()
            .take(MAX_CLOSE_NAMES)
            .map(|(_, n)| n)
            .collect()
    }

    /// How many names the index holds, over every region.
    pub fn len(&self) -> usize {
        self.regions.values().map(BTreeMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How close `candidate` is to `wanted` (higher is closer), or `None` when it is not:
/// one holding the other counts the shorter's characters twice, over a shared prefix
/// of at least two characters.
fn closeness(wanted: &str, candidate: &str) -> Option<usize> {
    let chars = |s: &str| s.chars().count();
    if candidate.contains(wanted) || wanted.contains(candidate) {
        return Some(2 * chars(wanted).min(chars(candidate)) + 1);
    }
    let prefix = wanted
        .chars()
        .zip(candidate.chars())
        .take_while(|(a, b)| a == b)
        .count();
    (prefix >= 2).then_some(prefix)
}

/// Why a row's indicator could not be resolved: the field to blame and a message for
/// the clerk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub field: &'static str,
    pub message: crate::domain::messages::Msg,
}

impl Refusal {
    fn indicator(message: impl Into<crate::domain::messages::Msg>) -> Refusal {
        Refusal {
            field: "indicator",
            message: message.into(),
        }
    }
}

/// No indicator has this id.
fn no_such_id(id: &impl std::fmt::Display) -> crate::domain::messages::Msg {
    let mut m = crate::domain::messages::no_indicator(id);
    m.zh.push_str("：请核对指标编码，或改填指标名称");
    m
}

/// `没有名为“税收收入”的指标（桃江县），是否为：“税收收入增长”？`
pub fn not_found_message(name: &str, region: &str, close: &[&str]) -> String {
    let mut m = format!("没有名为“{}”的指标（{region}）", name.trim());
    if !close.is_empty() {
        let names: Vec<String> = close.iter().map(|n| format!("“{n}”")).collect();
        m.push_str(&format!("，是否为：{}？", names.join("、")));
    }
    m
}

/// `指标名称“X”在桃江县对应多个指标（a、b），请改填指标代码`
pub fn ambiguous_message(name: &str, region: &str, ids: &[IndicatorId]) -> String {
    let ids: Vec<&str> = ids.iter().map(IndicatorId::as_str).collect();
    format!(
        "指标名称“{}”在{region}对应多个指标（{}），请改填指标代码",
        name.trim(),
        ids.join("、")
    )
}

impl Queries {
    /// The name index of the store as it stands, built at most once per store change.
    pub fn name_index(&self) -> Result<Arc<NameIndex>> {
        let seq = self.store.change_seq()?;
        if let Some(ix) = self.memo.names(seq) {
            return Ok(ix);
        }
        let ix = Arc::new(NameIndex::build(&self.store.indicators()?));
        self.memo.put_names(seq, ix.clone());
        Ok(ix)
    }

    /// A [`Resolver`] for the rows of one batch, looking names up among the indicators
    /// of `region` unless a row names its own.
    pub fn resolver(&self, region: String) -> Resolver<'_> {
        Resolver {
            qs: self,
            region,
            index: None,
            indicators: HashMap::new(),
            regions: HashMap::new(),
            suggested: 0,
        }
    }
}

/// Resolves the indicators of one batch's rows; see the module documentation. Keeps
/// what it has read, so a batch reads each indicator and each region once.
#[derive(Debug)]
pub struct Resolver<'q> {
    qs: &'q Queries,
    /// Where names are looked up when a row names no region.
    region: String,
    index: Option<Arc<NameIndex>>,
    indicators: HashMap<IndicatorId, Option<Indicator>>,
    /// Regions a row named, and whether they exist.
    regions: HashMap<String, bool>,
    /// How many misses have been given close names.
    suggested: usize,
}

impl Resolver<'_> {
    /// The default region names are looked up in.
    pub fn region(&self) -> &str {
        &self.region
    }

    fn indicator(&mut self, id: &IndicatorId) -> Result<Option<&Indicator>> {
        if !self.indicators.contains_key(id) {
            let ind = self.qs.store.indicator(id)?;
            self.indicators.insert(id.clone(), ind);
        }
        Ok(self.indicators.get(id).and_then(Option::as_ref))
    }

    fn index(&mut self) -> Result<Arc<NameIndex>> {
        if let Some(ix) = &self.index {
            return Ok(ix.clone());
        }
        let ix = self.qs.name_index()?;
        self.index = Some(ix.clone());
        Ok(ix)
    }

    fn known_region(&mut self, name: &str) -> Result<bool> {
        if let Some(&known) = self.regions.get(name) {
            return Ok(known);
        }
        let known = self.qs.store.region(name)?.is_some();
        self.regions.insert(name.to_string(), known);
        Ok(known)
    }

    /// The indicator a row names by `text` (an id, else a name) in `region` (the
    /// row's 地区, if it gives one), or why it names none.
    pub fn resolve(
        &mut self,
        text: &str,
        region: Option<&str>,
    ) -> Result<std::result::Result<Indicator, Refusal>> {
        let text = text.trim();
        let row_region = region.map(str::trim).filter(|r| !r.is_empty());
        if let Some(r) = row_region {
            if !self.known_region(r)? {
                return Ok(Err(Refusal {
                    field: "region",
                    message: format!(
                        "没有名为“{r}”的地区；地区名称见 GET /v1/regions，或先用 PUT /v1/regions/{{name}} 登记"
                    )
                    .into(),
                }));
            }
        }
        let id = crate::domain::IndicatorId::parse(text);
        if let Ok(id) = &id {
            if let Some(ind) = self.indicator(id)? {
                return Ok(match row_region {
                    Some(r) if !ind.region.is_empty() && ind.region != r => {
                        Err(Refusal::indicator(format!(
                            "指标 {id} 属于{}，不属于本行所填地区{r}",
                            ind.region
                        )))
                    }
                    _ => Ok(ind.clone()),
                });
            }
        }
        if text.is_empty() {
            // No name either: the id's own message says what an indicator must be.
            return Ok(Err(Refusal::indicator(match id {
                Err(e) => crate::domain::messages::Msg::new(e.message(), e.message_en()),
                Ok(id) => no_such_id(&id),
            })));
        }
        let region = row_region.unwrap_or(&self.region).to_string();
        let index = self.index()?;
        match index.find(&region, text) {
            [one] => {
                let one = one.clone();
                match self.indicator(&one)? {
                    Some(ind) => Ok(Ok(ind.clone())),
                    // Indexed at this change, gone since: as if never named.
                    None => Ok(Err(Refusal::indicator(not_found_message(
                        text,
                        &region,
                        &[],
                    )))),
                }
            }
            [] => Ok(Err(Refusal::indicator(match id {
                // Written as an id: the id's own answer, as before names were read.
                Ok(id) => no_such_id(&id),
                Err(_) => {
                    let close = if self.suggested < MAX_SUGGESTED_MISSES {
                        self.suggested += 1;
                        index.close_names(&region, text)
                    } else {
                        Vec::new()
                    };
                    not_found_message(text, &region, &close).into()
                }
            }))),
            several => Ok(Err(Refusal::indicator(ambiguous_message(
                text, &region, several,
            )))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Catalogue;

    fn index() -> (NameIndex, Vec<Indicator>) {
        let cat = Catalogue::builtin().unwrap();
        let mut all: Vec<Indicator> = cat.entries.iter().map(|(i, _)| i.clone()).collect();
        // A second 地区生产总值增长 of 桃江县, and one of 赫山区.
        let mut twin = all
            .iter()
            .find(|i| i.id.as_str() == "gdp-growth")
            .unwrap()
            .clone();
        twin.id = IndicatorId::parse("gdp-growth-twin").unwrap();
        all.push(twin.clone());
        twin.id = IndicatorId::parse("heshan-gdp-growth").unwrap();
        twin.region = "赫山区".into();
        all.push(twin);
        (NameIndex::build(&all), all)
    }

    #[test]
    fn a_name_is_found_within_its_region_only() {
        let (ix, _) = index();
        let sme = ix.find("桃江县", " 科技型中小企业入库 ");
        assert_eq!(sme, [IndicatorId::parse("tech-sme-registered").unwrap()]);
        assert!(ix.find("赫山区", "科技型中小企业入库").is_empty());
        assert_eq!(
            ix.find("赫山区", "地区生产总值增长"),
            [IndicatorId::parse("heshan-gdp-growth").unwrap()]
        );
        let both: Vec<&str> = ix
            .find("桃江县", "地区生产总值增长")
            .iter()
            .map(IndicatorId::as_str)
            .collect();
        assert_eq!(both, ["gdp-growth", "gdp-growth-twin"]);
    }

    #[test]
    fn close_names_contain_the_name_or_share_its_beginning() {
        let (ix, _) = index();
        let close = ix.close_names("桃江县", "科技型中小企业");
        assert_eq!(close.first(), Some(&"科技型中小企业入库"), "{close:?}");
        assert!(close.len() <= MAX_CLOSE_NAMES);
        assert!(ix.close_names("桃江县", "火星移民人数").is_empty());
        assert!(ix.close_names("赫山区", "科技型中小企业").is_empty());
    }

    #[test]
    fn messages_name_the_region_the_close_names_and_both_ids() {
        assert_eq!(
            not_found_message("税收收入", "桃江县", &[]),
            "没有名为“税收收入”的指标（桃江县）"
        );
        assert_eq!(
            not_found_message("税收收入", "桃江县", &["税收收入增长", "税收收入占比"]),
            "没有名为“税收收入”的指标（桃江县），是否为：“税收收入增长”、“税收收入占比”？"
        );
        let ids = [
            IndicatorId::parse("gdp-growth").unwrap(),
            IndicatorId::parse("gdp-growth-twin").unwrap(),
        ];
        let m = ambiguous_message("地区生产总值增长", "桃江县", &ids);
        assert!(m.contains("gdp-growth、gdp-growth-twin"), "{m}");
    }
}
