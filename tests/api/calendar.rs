//! The reporting calendar and the overdue list (催报).

use serde_json::{json, Value};

use crate::helpers::*;

/// A monthly indicator led by 县人社局.
const JOBS: &str = "new-urban-jobs";
const GDP: &str = "gdp-growth";

#[test]
fn a_calendar_window_lists_what_falls_due_with_its_lead_units() {
    let s = TestServer::start();
    s.submit(JOBS, "2023-06", 2600.0);
    let c = s.get_json("/v1/calendar?from=2023-07-01&to=2023-07-31");
    assert_eq!(
        (&c["from"], &c["to"]),
        (&json!("2023-07-01"), &json!("2023-07-31"))
    );
    let due = c["due"].as_array().unwrap();
    assert_eq!(c["count"], due.len());
    let find = |id: &str| {
        due.iter()
            .find(|d| d["indicator"] == id)
            .cloned()
            .unwrap_or(Value::Null)
    };
    // Monthly: June's figure by 10 July; quarterly: Q2's by 15 July.
    let sme = find(JOBS);
    assert_eq!(
        (&sme["period"], &sme["due"], &sme["received"]),
        (&json!("2023-06"), &json!("2023-07-10"), &json!(true))
    );
    assert_eq!(sme["lead_units"], json!(["县人社局"]));
    let gdp = find(GDP);
    assert_eq!(
        (&gdp["period"], &gdp["due"], &gdp["received"]),
        (&json!("2023-06"), &json!("2023-07-15"), &json!(false))
    );
    // In due-date order, and nothing outside the window.
    let dates: Vec<&str> = due.iter().map(|d| d["due"].as_str().unwrap()).collect();
    assert!(dates.windows(2).all(|w| w[0] <= w[1]));
    assert!(dates
        .iter()
        .all(|d| ("2023-07-01".."2023-08-01").contains(d)));
    // Filters narrow it.
    let rsj = s.get_json("/v1/calendar?from=2023-07-01&to=2023-07-31&lead_unit=县人社局");
    assert!(rsj["due"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["lead_units"]
            .as_array()
            .unwrap()
            .contains(&json!("县人社局"))));
    assert!(rsj["count"].as_u64().unwrap() < c["count"].as_u64().unwrap());
    // Bad windows are refused, naming the parameter.
    for (q, field) in [
        ("from=2023-07-31&to=2023-07-01", "to"),
        ("from=2023/07/01", "from"),
        ("from=2023-01-01&to=2024-06-01", "to"),
    ] {
        let r = s.get(&format!("/v1/calendar?{q}"));
        assert_eq!(r.status(), 400, "{q}");
        assert_eq!(r.json::<Value>().unwrap()["field"], field, "{q}");
    }
}

#[test]
fn overdue_figures_on_a_date_grouped_by_lead_unit() {
    let s = TestServer::start();
    for (p, v) in [
        ("2023-01", 10.0),
        ("2023-02", 20.0),
        ("2023-03", 30.0),
        ("2023-05", 55.0),
    ] {
        s.submit(JOBS, p, v);
    }
    s.submit(GDP, "2023-Q1", 8.1);
    let o = s.get_json("/v1/overdue?on=2023-07-20");
    assert_eq!(o["on"], "2023-07-20");
    let list = o["overdue"].as_array().unwrap();
    assert_eq!(o["count"], list.len());
    let mine: Vec<(&str, i64)> = list
        .iter()
        .filter(|x| x["indicator"] == JOBS)
        .map(|x| {
            (
                x["period"].as_str().unwrap(),
                x["days_overdue"].as_i64().unwrap(),
            )
        })
        .collect();
    // April was due 10 May, June 10 July; the others were received, July is not over.
    assert_eq!(mine, [("2023-04", 71), ("2023-06", 10)]);
    let gdp: Vec<&Value> = list.iter().filter(|x| x["indicator"] == GDP).collect();
    assert_eq!(gdp.len(), 1);
    assert_eq!(
        (&gdp[0]["period"], &gdp[0]["due"], &gdp[0]["days_overdue"]),
        (&json!("2023-06"), &json!("2023-07-15"), &json!(5))
    );
    // Most overdue first.
    let days: Vec<i64> = list
        .iter()
        .map(|x| x["days_overdue"].as_i64().unwrap())
        .collect();
    assert!(days.windows(2).all(|w| w[0] >= w[1]));

    // The shape of a 催报 notice: one group per lead unit.
    let g = s.get_json("/v1/overdue?on=2023-07-20&group=lead_unit");
    let groups = g["groups"].as_array().unwrap();
    let rsj = groups
        .iter()
        .find(|x| x["lead_unit"] == "县人社局")
        .unwrap();
    let ids: Vec<&str> = rsj["overdue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["indicator"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&JOBS), "{ids:?}");
    assert_eq!(rsj["count"], rsj["overdue"].as_array().unwrap().len());
    assert!(groups
        .iter()
        .all(|x| x["overdue"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["lead_units"]
                .as_array()
                .unwrap()
                .contains(&x["lead_unit"]))));
    // One unit's own list.
    let one = s.get_json("/v1/overdue?on=2023-07-20&lead_unit=县人社局");
    assert!(one["overdue"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["indicator"] == JOBS));
    // Before anything fell due, nothing is overdue.
    assert_eq!(s.get_json("/v1/overdue?on=2023-01-05")["count"], 0);
    for (q, field) in [
        ("on=20230720", "on"),
        ("on=2023-07-20&group=battle", "group"),
    ] {
        let r = s.get(&format!("/v1/overdue?{q}"));
        assert_eq!(r.status(), 400, "{q}");
        assert_eq!(r.json::<Value>().unwrap()["field"], field, "{q}");
    }
}

#[test]
fn an_indicator_can_set_its_own_due_rule() {
    let s = TestServer::start();
    let put = |body: &Value| {
        let r = s
            .client
            .put(s.url(&format!("/v1/indicators/{JOBS}")))
            .bearer_auth(ADMIN_TOKEN)
            .json(body)
            .send()
            .unwrap();
        (r.status().as_u16(), r.json::<Value>().unwrap())
    };
    // Read the definition, set a form due on the 5th, and send it back.
    let mut def = s.get_json(&format!("/v1/indicators/{JOBS}"));
    assert_eq!(def["due"], Value::Null, "the frequency's default");
    let obj = def.as_object_mut().unwrap();
    for view_only in ["group_name", "plan", "target", "target_years"] {
        obj.remove(view_only);
    }
    let alerts = "/v1/alerts?as_of=2023-06&on=2023-07-20&kind=overdue&lead_unit=县人社局";
    let before = s.get(alerts);
    let etag = before.headers()["etag"].to_str().unwrap().to_string();
    def["due"] = json!({"day_of_next_month": 5});
    let (st, a) = put(&def);
    assert_eq!(st, 200, "{a}");
    assert_eq!(
        s.get_json(&format!("/v1/indicators/{JOBS}"))["due"],
        json!({"day_of_next_month": 5})
    );
    // June's figure is now due on 5 July, and 15 days late on the 20th.
    let c = s.get_json("/v1/calendar?from=2023-07-01&to=2023-07-31&lead_unit=县人社局");
    let jobs = c["due"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["indicator"] == JOBS)
        .cloned()
        .unwrap();
    assert_eq!(jobs["due"], "2023-07-05");
    let o = s.get_json("/v1/overdue?on=2023-07-20&lead_unit=县人社局");
    let june = o["overdue"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["indicator"] == JOBS && d["period"] == "2023-06")
        .cloned()
        .unwrap();
    assert_eq!(june["days_overdue"], 15);
    // The overdue alerts see the new rule: no stale 304, and the new lateness.
    let r = s
        .client
        .get(s.url(alerts))
        .header("if-none-match", &etag)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let jobs = r.json::<Value>().unwrap()["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["indicator"] == JOBS)
        .cloned()
        .unwrap();
    // January was due 10 February (160 days late on 20 July); now 5 February.
    assert_eq!(
        (&jobs["due"], &jobs["days_overdue"]),
        (&json!("2023-02-05"), &json!(165)),
        "{jobs}"
    );
    // Rules no month can keep are refused, naming `due`, and change nothing.
    for bad in [
        json!({"day_of_next_month": 31}),
        json!({"days_after_period_end": 400}),
        json!({"weekly": 1}),
    ] {
        def["due"] = bad.clone();
        let (st, p) = put(&def);
        assert_eq!(st, 400, "{bad}: {p}");
        assert_eq!(p["field"], "due", "{p}");
    }
    assert_eq!(
        s.get_json(&format!("/v1/indicators/{JOBS}"))["due"],
        json!({"day_of_next_month": 5})
    );
    // Leaving it out restores the default.
    def.as_object_mut().unwrap().remove("due");
    assert_eq!(put(&def).0, 200);
    assert_eq!(
        s.get_json(&format!("/v1/indicators/{JOBS}"))["due"],
        Value::Null
    );
}
