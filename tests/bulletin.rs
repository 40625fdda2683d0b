//! The monthly bulletin (月通报) and its quarter-end variant (季总结), rendered from a
//! hand-built board of the built-in Taojiang 2023 catalogue.
//!
//! Golden files: the Markdown, HTML and CSV renderings are compared byte for byte with
//! `tests/golden/bulletin-2023-06.{md,html,csv}` and `tests/golden/bulletin-2023-Q2.md`.
//! After an intended change to the bulletin, regenerate them with
//!
//! ```sh
//! UPDATE_GOLDEN=1 cargo test --test bulletin
//! ```
//!
//! then read the diff (`git diff tests/golden`) before committing it. Word and Excel
//! are checked by reading the files back (zip + `word/document.xml`, calamine).

use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::path::PathBuf;

use calamine::{Data, Reader, Xlsx};
use chrono::NaiveDate;
use zhibiao::catalogue::Catalogue;
use zhibiao::domain::RegionSettings;
use zhibiao::domain::{Period, SIX_BATTLES};
use zhibiao::engine::{evaluate, Status};
use zhibiao::report::bulletin::{
    ascii_file_name, file_name, render as render_issued, BulletinError, Format, Issue, Kind,
};
use zhibiao::report::{Board, BoardRow};

fn p(y: u16, m: u8) -> Period {
    Period::new(y, m).unwrap()
}

/// The readings of the test board: 15 indicators across the six battles. At 2023-06 they
/// cover every status; at 2023-03 (the previous quarter end) some differ.
fn readings() -> Vec<(&'static str, Vec<(Period, f64)>)> {
    vec![
        // 经济增长主动仗
        ("gdp-growth", vec![(p(2023, 3), 6.8), (p(2023, 6), 7.2)]), // behind (severe at Q1)
        (
            "fixed-asset-investment-growth",
            vec![(p(2023, 3), 11.8), (p(2023, 6), 10.0)], // severely behind (on track at Q1)
        ),
        ("cpi", vec![(p(2023, 3), 2.1), (p(2023, 6), 2.5)]), // on track, a cap on a rate
        ("import-export-value", vec![]),                     // no data
        (
            "urban-surveyed-unemployment-rate",
            vec![(p(2023, 3), 5.3), (p(2023, 6), 5.1)], // no target (relative, awaiting its figure)
        ),
        // 科技创新攻坚仗
        (
            "tech-sme-registered",
            vec![(p(2023, 3), 30.0), (p(2023, 6), 63.0)], // behind: 42.0%, 8.0 points below pace
        ),
        (
            "new-high-tech-enterprises",
            vec![(p(2023, 3), 3.0), (p(2023, 5), 9.0)], // achieved, a month old
        ),
        // 优化发展环境持久仗
        (
            "government-business-exchange-events-per-quarter",
            vec![(p(2023, 3), 1.0), (p(2023, 6), 3.0)], // on track within a band
        ),
        // 防范化解风险阻击仗
        (
            "primary-care-drug-reserve-population-share",
            vec![(p(2023, 6), 14.5)], // behind a band
        ),
        ("new-hidden-government-debt", vec![(p(2023, 6), 0.0)]), // on track at a cap of 0
        // 安全生产巩固提升仗
        (
            "major-accidents",
            vec![(p(2023, 3), 0.0), (p(2023, 5), 1.0)],
        ), // missed: cap breached
        (
            "other-county-gov-leaders-safety-inspections-monthly",
            vec![(p(2023, 3), 3.0), (p(2023, 6), 6.0)], // on track, exactly at pace
        ),
        // 重点民生保障仗
        (
            "new-urban-jobs",
            vec![(p(2023, 3), 1400.0), (p(2023, 6), 2000.0)], // severely behind
        ),
        (
            "air-quality-good-rate-county-town",
            vec![(p(2023, 6), 90.1)],
        ), // on track
        (
            "zijiang-mainstream-taojiang-section-water-class",
            vec![(p(2023, 3), 3.0), (p(2023, 6), 2.0)], // on track (severe at Q1)
        ),
    ]
}

/// The board at `as_of`, built the way the API builds it: catalogue order, the engine's
/// attainment, and the year's readings at or before `as_of` as the series.
fn board(as_of: Period) -> Board {
    let cat = Catalogue::builtin().expect("the built-in catalogue loads");
    let readings: BTreeMap<&str, Vec<(Period, f64)>> = readings().into_iter().collect();
    let rows = cat
        .entries
        .iter()
        .filter_map(|(ind, target)| {
            let values = readings.get(ind.id.as_str())?;
            Some(BoardRow {
                indicator: ind.clone(),
                attainment: evaluate(ind, target.as_ref(), values, as_of),
                series: values
                    .iter()
                    .copied()
                    .filter(|(q, _)| *q <= as_of)
                    .collect(),
            })
        })
        .collect::<Vec<_>>();
    assert_eq!(
        rows.len(),
        readings.len(),
        "every test indicator is in the catalogue"
    );
    Board {
        as_of,
        region: cat.region.clone(),
        document: cat.document.clone(),
        plan: Some(cat.plan.clone()),
        groups: cat.plan.groups.clone(),
        rows: rows.into_iter().map(std::sync::Arc::new).collect(),
    }
}

/// The issue date of the test bulletins: fixed, so that the golden files do not move
/// with the calendar.
fn issue_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2023, 7, 12).unwrap()
}

/// The test board's issue: the statistics bureau's settings on a fixed date.
fn issue(b: &Board) -> Issue {
    let settings = RegionSettings::new("桃江县统计局", Some("桃统通"), None).unwrap();
    Issue::new(b, Some(&settings), issue_date())
}

/// Renders `board` as issued by [`issue`].
fn render(
    board: &Board,
    kind: Kind,
    previous: Option<&Board>,
    format: Format,
) -> Result<Vec<u8>, BulletinError> {
    render_issued(board, kind, previous, format, &issue(board))
}

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("golden")
        .join(name)
}

/// Compares `actual` with the golden file, or writes it when `UPDATE_GOLDEN=1`.
fn golden(name: &str, actual: &[u8]) {
    let path = golden_path(name);
    if std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {} ({e}); run `UPDATE_GOLDEN=1 cargo test --test bulletin` to create it",
            path.display()
        )
    });
    if expected != actual {
        let (e, a) = (
            String::from_utf8_lossy(&expected),
            String::from_utf8_lossy(actual),
        );
        let line = e
            .lines()
            .zip(a.lines())
            .position(|(x, y)| x != y)
            .unwrap_or_else(|| e.lines().count().min(a.lines().count()));
        panic!(
            "{name} differs from the golden file at line {}:\n  golden: {:?}\n  actual: {:?}\n\
             If the change is intended, run `UPDATE_GOLDEN=1 cargo test --test bulletin` and review the diff.",
            line + 1,
            e.lines().nth(line),
            a.lines().nth(line)
        );
    }
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("UTF-8")
}

#[test]
fn the_test_board_covers_every_status() {
    let b = board(p(2023, 6));
    let status = |id: &str| {
        b.rows
            .iter()
            .find(|r| r.indicator.id.as_str() == id)
            .unwrap()
            .attainment
            .status
    };
    assert_eq!(status("tech-sme-registered"), Status::Behind);
    assert_eq!(status("gdp-growth"), Status::Behind);
    assert_eq!(
        status("fixed-asset-investment-growth"),
        Status::SeverelyBehind
    );
    assert_eq!(status("new-urban-jobs"), Status::SeverelyBehind);
    assert_eq!(status("major-accidents"), Status::Missed);
    assert_eq!(status("new-high-tech-enterprises"), Status::Achieved);
    assert_eq!(status("cpi"), Status::OnTrack);
    assert_eq!(status("import-export-value"), Status::NoData);
    assert_eq!(status("urban-surveyed-unemployment-rate"), Status::NoTarget);
    for (key, _) in SIX_BATTLES {
        assert!(
            b.rows.iter().any(|r| r.indicator.group == key),
            "{key} has a row"
        );
    }
}

#[test]
fn monthly_markdown_matches_the_golden_file() {
    let out = render(&board(p(2023, 6)), Kind::Monthly, None, Format::Markdown).unwrap();
    let s = text(&out);
    // The head: 发文单位, 文号 and date above the title; the 落款 and date at the end.
    assert!(s.starts_with(
        "**桃江县统计局**\n\n桃统通〔2023〕6号　　2023年7月12日\n\n---\n\n# 桃江县2023年6月重点指标监测通报\n"
    ));
    assert!(s.ends_with("\n\n桃江县统计局  \n2023年7月12日\n"), "{s}");
    // The plan is named in the 依据 line only.
    assert_eq!(s.matches("桃江县打好发展“六仗”实施方案").count(), 1);
    assert!(s.contains("依据：桃江县打好发展“六仗”实施方案（桃政办发〔2023〕4号）"));
    assert!(s.contains("数据截至2023年6月"));
    assert!(s.contains("科技型中小企业入库（县科工局）：完成42.0%，低于序时进度8.0个百分点"));
    golden("bulletin-2023-06.md", &out);
}

#[test]
fn monthly_html_matches_the_golden_file_and_is_a_standalone_a4_document() {
    let out = render(&board(p(2023, 6)), Kind::Monthly, None, Format::Html).unwrap();
    let s = text(&out);
    assert!(s.starts_with("<!DOCTYPE html>\n<html lang=\"zh-CN\">"));
    assert!(s.contains("<meta charset=\"utf-8\">"));
    // GB/T 9704 margins and faces.
    assert!(s.contains("@page { size: A4; margin: 37mm 26mm 35mm 28mm; }"));
    assert!(s.contains("\"方正小标宋简体\""));
    assert!(s.contains("\"仿宋_GB2312\""));
    assert!(s.contains("<p class=\"issuer\">桃江县统计局</p>"));
    assert!(s.contains(
        "<p class=\"number\"><span>桃统通〔2023〕6号</span><time datetime=\"2023-07-12\">2023年7月12日</time></p>"
    ));
    assert!(s.contains(
        "<footer class=\"signature\">\n<p>桃江县统计局</p>\n<p>2023年7月12日</p>\n</footer>"
    ));
    assert!(s.contains("thead { display: table-header-group; }"));
    assert!(s.contains("break-before: page"));
    // No external assets: no links, no scripts, no remote URLs.
    for needle in ["<link", "<script", "http://", "https://", "url("] {
        assert!(!s.contains(needle), "the HTML must not contain {needle}");
    }
    // Colour always comes with the status text.
    assert!(s.contains("<td class=\"status s-behind\">未达序时进度</td>"));
    golden("bulletin-2023-06.html", &out);
}

#[test]
fn monthly_csv_matches_the_golden_file() {
    let out = render(&board(p(2023, 6)), Kind::Monthly, None, Format::Csv).unwrap();
    assert!(
        out.starts_with("\u{feff}".as_bytes()),
        "CSV starts with a BOM"
    );
    let s = text(&out);
    let mut lines = s.trim_start_matches('\u{feff}').lines();
    assert_eq!(
        lines.next().unwrap(),
        "group,group_name,indicator,name,lead_units,unit,target,comparator,actual,actual_period,\
         attainment,scheduled_pace,pace_gap,deviation,year_end_gap,required_rest_of_year,status,status_label"
    );
    assert_eq!(lines.count(), 15, "one line per indicator");
    assert!(s.contains(
        "innovation,科技创新攻坚仗,tech-sme-registered,科技型中小企业入库,县科工局,家,150,at_least,63,2023-06,0.42,0.5,-0.08,-12,87,14.5,behind,未达序时进度"
    ));
    golden("bulletin-2023-06.csv", &out);
}

#[test]
fn quarterly_markdown_compares_with_the_previous_quarter_end() {
    let now = board(p(2023, 6));
    let before = board(p(2023, 3));
    let out = render(&now, Kind::Quarterly, Some(&before), Format::Markdown).unwrap();
    let s = text(&out);
    assert!(s.contains("\n# 桃江县2023年第2季度重点指标监测总结\n"));
    assert!(s.contains("上季末完成率/状态"));
    assert!(s.contains("## 三、与上季末比较"));
    assert!(s.contains("固定资产投资增长（县发改局）：符合序时进度 → 严重滞后"));
    golden("bulletin-2023-Q2.md", &out);
}

#[test]
fn a_quarterly_bulletin_needs_a_quarter_end() {
    let b = board(p(2023, 5));
    for format in [Format::Markdown, Format::Xlsx] {
        let err = render(&b, Kind::Quarterly, None, format).unwrap_err();
        assert!(
            matches!(err, BulletinError::NotQuarterEnd { as_of } if as_of == p(2023, 5)),
            "{err:?}"
        );
        assert!(err.to_string().contains("2023-05"), "{err}");
    }
    // The monthly bulletin of the same month is fine.
    assert!(render(&b, Kind::Monthly, None, Format::Markdown).is_ok());
    // A previous board that is not earlier is refused.
    let june = board(p(2023, 6));
    let err = render(&june, Kind::Quarterly, Some(&june), Format::Markdown).unwrap_err();
    assert!(
        matches!(err, BulletinError::PreviousNotEarlier { .. }),
        "{err:?}"
    );
}

#[test]
fn every_format_is_deterministic() {
    let b = board(p(2023, 6));
    let before = board(p(2023, 3));
    for format in [
        Format::Markdown,
        Format::Html,
        Format::Csv,
        Format::Docx,
        Format::Xlsx,
    ] {
        for kind in [Kind::Monthly, Kind::Quarterly] {
            let one = render(&b, kind, Some(&before), format).unwrap();
            let two = render(&b, kind, Some(&before), format).unwrap();
            assert!(
                one == two,
                "{format:?} {kind:?} renders the same bytes twice"
            );
        }
    }
    assert_eq!(
        ascii_file_name(&b, Kind::Quarterly, Format::Xlsx),
        "bulletin-2023-Q2.xlsx"
    );
    assert_eq!(
        file_name(&b, Kind::Quarterly, Format::Xlsx),
        "桃江县2023年第2季度重点指标监测总结.xlsx"
    );
    assert_eq!(
        file_name(&b, Kind::Monthly, Format::Docx),
        "桃江县2023年6月重点指标监测通报.docx"
    );
}

fn unzip(bytes: &[u8], name: &str) -> String {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("a zip archive");
    let mut entry = archive.by_name(name).expect(name);
    let mut s = String::new();
    entry.read_to_string(&mut s).unwrap();
    s
}

/// Office files must not carry the time they were written: every zip entry keeps the
/// zip epoch, so the bytes depend on the board only.
fn assert_no_clock_in_zip(bytes: &[u8]) {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    for i in 0..archive.len() {
        let e = archive.by_index(i).unwrap();
        let t = e.last_modified().expect("a timestamp");
        assert_eq!(t.year(), 1980, "{:?} carries a write time", e.name());
    }
}

#[test]
fn the_word_bulletin_holds_the_title_battles_and_statuses() {
    let out = render(&board(p(2023, 6)), Kind::Monthly, None, Format::Docx).unwrap();
    let xml = unzip(&out, "word/document.xml");
    assert!(xml.contains("桃江县2023年6月重点指标监测通报"));
    for (_, name) in SIX_BATTLES {
        assert!(xml.contains(name), "{name}");
    }
    assert!(xml.contains("科技型中小企业入库"));
    assert!(xml.contains("未达序时进度"));
    assert!(xml.contains("严重滞后"));
    // A4 portrait, in twips.
    assert!(xml.contains(r#"w:w="11906""#) && xml.contains(r#"w:h="16838""#));
    assert_no_clock_in_zip(&out);

    let q = render(
        &board(p(2023, 6)),
        Kind::Quarterly,
        Some(&board(p(2023, 3))),
        Format::Docx,
    )
    .unwrap();
    let xml = unzip(&q, "word/document.xml");
    assert!(xml.contains("桃江县2023年第2季度重点指标监测总结"));
    assert!(xml.contains("上季末完成率/状态"));
}

#[test]
fn the_excel_bulletin_has_an_overview_and_one_sheet_per_battle() {
    let out = render(&board(p(2023, 6)), Kind::Monthly, None, Format::Xlsx).unwrap();
    assert_no_clock_in_zip(&out);
    let core = unzip(&out, "docProps/core.xml");
    assert!(core.contains("2023-07-12T00:00:00Z"), "{core}");
    assert!(
        core.contains("<dc:creator>桃江县统计局</dc:creator>"),
        "{core}"
    );
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(out)).unwrap();
    let mut names = vec!["概览".to_string()];
    names.extend(SIX_BATTLES.iter().map(|(_, name)| name.to_string()));
    assert_eq!(wb.sheet_names(), names);

    let overview = wb.worksheet_range("概览").unwrap();
    assert_eq!(
        overview.get_value((0, 0)),
        Some(&Data::String("桃江县2023年6月重点指标监测通报".into()))
    );
    assert_eq!(
        overview.get_value((1, 0)),
        Some(&Data::String("桃江县统计局".into()))
    );

    let sheet = wb.worksheet_range("科技创新攻坚仗").unwrap();
    let header: Vec<String> = sheet
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(&header[..3], ["指标", "牵头单位", "单位"]);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let row = sheet
        .rows()
        .find(|r| r[0] == Data::String("科技型中小企业入库".into()))
        .expect("the tech-sme row");
    assert_eq!(row[col("完成率")], Data::Float(0.42));
    assert_eq!(row[col("序时进度")], Data::Float(0.5));
    assert_eq!(row[col("实际")], Data::Float(63.0));
    assert_eq!(row[col("状态")], Data::String("未达序时进度".into()));

    // The percent cells carry a percent number format, the header is bold and frozen.
    let styles = unzip(
        &render(&board(p(2023, 6)), Kind::Monthly, None, Format::Xlsx).unwrap(),
        "xl/styles.xml",
    );
    assert!(styles.contains(r#"formatCode="0.0%""#), "{styles}");
    let xlsx = render(&board(p(2023, 6)), Kind::Monthly, None, Format::Xlsx).unwrap();
    let sheet3 = unzip(&xlsx, "xl/worksheets/sheet3.xml");
    assert!(sheet3.contains(r#"state="frozen""#), "{sheet3}");
}

#[test]
fn text_from_the_board_is_escaped_in_every_format() {
    let mut b = board(p(2023, 6));
    let row = b
        .rows
        .iter_mut()
        .find(|r| r.indicator.id.as_str() == "tech-sme-registered")
        .map(std::sync::Arc::make_mut)
        .unwrap();
    row.indicator.name = "=HYPERLINK(\"x\")<b>&'|".into();
    b.region = "<i>桃江县</i>".into();
    // A board without a plan is titled by its region; a plan's title and group names
    // are the office's text too.
    b.plan = None;
    b.groups[0].name = "<u>一、增长</u>".into();

    let html = String::from_utf8(render(&b, Kind::Monthly, None, Format::Html).unwrap()).unwrap();
    // `'` stays as it is: in text, and in attribute values (always in double quotes),
    // a single quote ends nothing.
    assert!(html.contains("=HYPERLINK(&quot;x&quot;)&lt;b&gt;&amp;'|"));
    assert!(html.contains("&lt;i&gt;桃江县&lt;/i&gt;"));
    assert!(html.contains("&lt;u&gt;一、增长&lt;/u&gt;"));
    assert!(!html.contains("<b>") && !html.contains("<i>") && !html.contains("<u>"));

    let md = String::from_utf8(render(&b, Kind::Monthly, None, Format::Markdown).unwrap()).unwrap();
    assert!(md.contains(r#"=HYPERLINK("x")\<b\>&'\|"#), "{md}");

    let csv = String::from_utf8(render(&b, Kind::Monthly, None, Format::Csv).unwrap()).unwrap();
    assert!(csv.contains(r#""'=HYPERLINK(""x"")<b>&'|""#), "{csv}");

    let docx = render(&b, Kind::Monthly, None, Format::Docx).unwrap();
    let xml = unzip(&docx, "word/document.xml");
    assert!(xml.contains("&lt;b&gt;&amp;"));
}

#[test]
fn the_word_bulletin_is_set_as_a_government_document() {
    let out = render(&board(p(2023, 6)), Kind::Monthly, None, Format::Docx).unwrap();
    let xml = unzip(&out, "word/document.xml");
    // The head: 发文单位 in red, the 文号 and the issue date; the end: 落款 and date.
    assert!(xml.contains("桃江县统计局"));
    assert!(xml.contains("桃统通〔2023〕6号"));
    assert_eq!(xml.matches("2023年7月12日").count(), 2, "head and end");
    assert!(xml.contains(r#"w:color w:val="C00000""#));
    // One red rule under the 文号 line, no box around it.
    let borders: Vec<&str> = xml
        .match_indices("<w:pBdr>")
        .map(|(i, _)| &xml[i..])
        .collect();
    assert_eq!(borders.len(), 1);
    let rule = &borders[0][..borders[0].find("</w:pBdr>").unwrap()];
    assert!(
        rule.contains(r#"<w:bottom w:val="single" w:space="4" w:sz="12" w:color="C00000" />"#),
        "{rule}"
    );
    for side in ["<w:left", "<w:right", "<w:top"] {
        assert!(!rule.contains(side), "{rule}");
    }
    // The plan's own document only in the 依据 line.
    assert_eq!(xml.matches("桃江县打好发展“六仗”实施方案").count(), 1);
    // 二号 (22 pt) 方正小标宋简体 title, 三号 (16 pt) 仿宋_GB2312 body, 小四 (12 pt) 宋体 tables.
    assert!(xml.contains(r#"w:eastAsia="方正小标宋简体""#), "title face");
    assert!(xml.contains(r#"w:sz w:val="44""#), "二号 title");
    assert!(xml.contains(r#"w:eastAsia="仿宋_GB2312""#), "body face");
    assert!(xml.contains(r#"w:sz w:val="32""#), "三号 body");
    assert!(xml.contains(r#"w:eastAsia="宋体""#), "table face");
    assert!(xml.contains(r#"w:sz w:val="24""#), "小四 tables");
    assert!(!xml.contains(r#"w:sz w:val="18""#), "no 9 pt text");
    // Exact 29 pt lines in the body.
    assert!(
        xml.contains(r#"w:line="580" w:lineRule="exact""#),
        "{}",
        &xml[..2000]
    );
    // GB/T 9704 margins: top 37 mm, bottom 35, left 28, right 26 (in twips).
    for m in [
        r#"w:top="2098""#,
        r#"w:bottom="1984""#,
        r#"w:left="1587""#,
        r#"w:right="1474""#,
    ] {
        assert!(xml.contains(m), "margin {m}");
    }
    assert!(xml.contains(r#"w:w="11906""#) && xml.contains(r#"w:h="16838""#));
    // The page number: “— PAGE —” in the footer.
    let footer = unzip(&out, "word/footer1.xml");
    assert!(
        footer.contains("<w:instrText>PAGE</w:instrText>"),
        "{footer}"
    );
    assert!(footer.contains("— ") && footer.contains(" —"), "{footer}");
    // Missing faces fall back: 方正小标宋简体 to 宋体, 仿宋_GB2312 to 仿宋.
    let fonts = unzip(&out, "word/fontTable.xml");
    assert!(
        fonts.contains(r#"<w:font w:name="方正小标宋简体"><w:altName w:val="宋体"/>"#),
        "{fonts}"
    );
    assert!(
        fonts.contains(r#"<w:font w:name="仿宋_GB2312"><w:altName w:val="仿宋"/>"#),
        "{fonts}"
    );
    // The properties: title, creator = issuer, created = the issue date.
    let core = unzip(&out, "docProps/core.xml");
    assert!(
        core.contains("<dc:title>桃江县2023年6月重点指标监测通报</dc:title>"),
        "{core}"
    );
    assert!(
        core.contains("<dc:creator>桃江县统计局</dc:creator>"),
        "{core}"
    );
    assert!(
        core.contains(
            r#"<dcterms:created xsi:type="dcterms:W3CDTF">2023-07-12T00:00:00Z</dcterms:created>"#
        ),
        "{core}"
    );
    assert!(!core.contains("unknown"), "{core}");
}

#[test]
fn without_settings_the_bulletin_names_the_regions_statistics_bureau_and_no_number() {
    let b = board(p(2023, 6));
    let issue = Issue::new(&b, None, issue_date());
    let md = String::from_utf8(
        render_issued(&b, Kind::Monthly, None, Format::Markdown, &issue).unwrap(),
    )
    .unwrap();
    // Not the plan's issuer (桃江县人民政府办公室 issued the plan, not the bulletin); no
    // 文号 was assigned, so none is printed.
    assert!(
        md.starts_with("**桃江县统计局**\n\n2023年7月12日\n\n---\n\n# "),
        "{md}"
    );
    assert!(!md.contains("人民政府办公室"), "{md}");
    assert!(!md.contains("号　　"), "{md}");
    assert!(md.ends_with("\n\n桃江县统计局  \n2023年7月12日\n"));
    let docx = render_issued(&b, Kind::Monthly, None, Format::Docx, &issue).unwrap();
    assert!(unzip(&docx, "docProps/core.xml").contains("<dc:creator>桃江县统计局</dc:creator>"));

    // Another date, another document: the date is the issue's, not the clock's.
    let later = Issue::new(&b, None, NaiveDate::from_ymd_opt(2023, 8, 1).unwrap());
    let md = String::from_utf8(
        render_issued(&b, Kind::Monthly, None, Format::Markdown, &later).unwrap(),
    )
    .unwrap();
    assert!(md.contains("2023年8月1日") && !md.contains("2023年7月12日"));

    // A 落款 of its own signs the end; the head keeps the issuer.
    let s = RegionSettings::new("桃江县统计局", None, Some("桃江县统计局办公室")).unwrap();
    let issue = Issue::new(&b, Some(&s), issue_date());
    let md = String::from_utf8(
        render_issued(&b, Kind::Monthly, None, Format::Markdown, &issue).unwrap(),
    )
    .unwrap();
    assert!(
        md.starts_with("**桃江县统计局**\n\n2023年7月12日\n"),
        "{md}"
    );
    assert!(
        md.ends_with("\n\n桃江县统计局办公室  \n2023年7月12日\n"),
        "{md}"
    );
}

#[test]
fn the_plans_document_appears_only_in_the_basis_line_in_every_format() {
    let b = board(p(2023, 6));
    let plan = "桃江县打好发展“六仗”实施方案";
    let basis = "依据：桃江县打好发展“六仗”实施方案（桃政办发〔2023〕4号）";
    for format in [Format::Markdown, Format::Html] {
        let s = String::from_utf8(render(&b, Kind::Monthly, None, format).unwrap()).unwrap();
        assert_eq!(s.matches(plan).count(), 1, "{format:?}");
        assert_eq!(s.matches(basis).count(), 1, "{format:?}");
    }
    let docx = render(&b, Kind::Monthly, None, Format::Docx).unwrap();
    let xml = unzip(&docx, "word/document.xml");
    assert_eq!(xml.matches(plan).count(), 1);
    assert!(xml.contains(basis));
    assert!(!unzip(&docx, "docProps/core.xml").contains(plan));
    // In the workbook, one cell names the plan: the 依据 line.
    let xlsx = render(&b, Kind::Monthly, None, Format::Xlsx).unwrap();
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(xlsx)).unwrap();
    let mut cells = vec![];
    for name in wb.sheet_names() {
        let range = wb.worksheet_range(&name).unwrap();
        for c in range.used_cells() {
            if let Data::String(s) = c.2 {
                if s.contains(plan) {
                    cells.push(s.clone());
                }
            }
        }
    }
    assert_eq!(cells, [basis.to_string()]);
}
