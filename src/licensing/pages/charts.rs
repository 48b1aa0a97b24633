//! A key's usage as SVG charts, drawn on the server with plotters' SVG backend:
//! part of the page's HTML, readable without JavaScript.

use crate::licensing::plans::{InstanceMetrics, PlanFeatures};
use crate::licensing::service::date_of;
use crate::licensing::usage::{metric_title, UsageChart, UsageDayDto, METRICS};
use plotters::prelude::*;

const WIDTH: u32 = 640;
const HEIGHT: u32 = 220;
/// The plan's limit, drawn across the chart; matched by the page's tests.
pub(crate) const LIMIT_COLOR: RGBColor = RGBColor(185, 28, 28);
const SERIES_COLOR: RGBColor = RGBColor(29, 78, 216);

/// What one chart shows: a value per day over the days `first..=last` (day
/// numbers), and the limit, if the plan sets one.
pub(crate) struct ChartData<'a> {
    pub(crate) first: i64,
    pub(crate) last: i64,
    pub(crate) points: &'a [(i64, i64)],
    pub(crate) limit: Option<i64>,
    /// Names the y axis ("users", "validations").
    pub(crate) unit: &'a str,
}

/// The chart as an `<svg>` element. `label_of` turns a day number into the x
/// axis's label.
pub(crate) fn line_chart(
    data: &ChartData<'_>,
    label_of: &dyn Fn(i64) -> String,
) -> Result<String, String> {
    let mut svg = String::new();
    draw(&mut svg, data, label_of).map_err(|e| format!("drawing a chart: {e}"))?;
    Ok(svg)
}

/// The key page's charts over the days `first..=last`: each metric's daily
/// maximum against the plan's limit, then validations per day.
pub(crate) fn usage_charts(
    days: &[UsageDayDto],
    features: &PlanFeatures,
    first: i64,
    last: i64,
) -> Result<Vec<UsageChart>, String> {
    let numbered: Vec<(i64, &UsageDayDto)> = days
        .iter()
        .filter_map(|day| Some((day_number(&day.date)?, day)))
        .collect();
    let label = |day: i64| date_of(day)[5..].to_string();
    let mut charts = Vec::new();
    for metric in METRICS {
        let points: Vec<(i64, i64)> = numbered
            .iter()
            .filter_map(|(number, day)| Some((*number, day.metrics.get(metric)?.max)))
            .collect();
        let limit = limit_of(features, metric);
        let data = ChartData {
            first,
            last,
            points: &points,
            limit,
            unit: metric_title(metric),
        };
        charts.push(UsageChart {
            metric: metric.to_string(),
            title: metric_title(metric).to_string(),
            limit,
            svg: line_chart(&data, &label)?,
        });
    }
    let validations: Vec<(i64, i64)> = numbered
        .iter()
        .map(|(number, day)| (*number, day.validations))
        .collect();
    let data = ChartData {
        first,
        last,
        points: &validations,
        limit: None,
        unit: "validations",
    };
    charts.push(UsageChart {
        metric: "validations".into(),
        title: metric_title("validations").into(),
        limit: None,
        svg: line_chart(&data, &label)?,
    });
    Ok(charts)
}

/// The plan's limit on a metric; none when unlimited (0, or upstream's 999999).
fn limit_of(features: &PlanFeatures, metric: &str) -> Option<i64> {
    let limit = match metric {
        "userCount" => features.max_users_per_org,
        "companyCount" => features.max_companies,
        "invoicesThisMonth" => features.max_invoices_per_month,
        // A self-hosted license covers one organization, whatever the plan.
        "orgCount" => 1,
        _ => 0,
    };
    (1..999_999).contains(&limit).then_some(limit)
}

/// The labelled days: six at most, evenly spaced, ending on the last (today).
fn day_labels(data: &ChartData<'_>) -> Vec<i64> {
    let step = ((data.last - data.first) / 5).max(1);
    let mut days: Vec<i64> = (0..6)
        .map(|n| data.last - n * step)
        .filter(|&day| day >= data.first)
        .collect();
    days.reverse();
    days
}

/// `YYYY-MM-DD` as a day number (days since 1970-01-01).
fn day_number(date: &str) -> Option<i64> {
    let date = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    Some(
        date.signed_duration_since(chrono::NaiveDate::default())
            .num_days(),
    )
}

fn draw(
    svg: &mut String,
    data: &ChartData<'_>,
    label_of: &dyn Fn(i64) -> String,
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::with_string(svg, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let highest = data
        .points
        .iter()
        .map(|&(_, value)| value)
        .max()
        .unwrap_or(0);
    // Days stored before counts were clamped may hold anything: clamped here too.
    let top = highest
        .max(data.limit.unwrap_or(0))
        .clamp(0, InstanceMetrics::MAX_VALUE);
    // Headroom above the highest value or limit, so neither sits on the edge.
    let y_max = (top + top / 8 + 1).max(4);
    let end = data.last.max(data.first + 1);
    let mut chart = ChartBuilder::on(&root)
        .margin(10)
        // Room for the last day's label, centred on the right edge.
        .margin_right(24)
        .x_label_area_size(30)
        .y_label_area_size(56)
        .build_cartesian_2d(
            (data.first..end).with_key_points(day_labels(data)),
            0i64..y_max,
        )?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(6)
        .y_labels(5)
        .x_label_formatter(&|day| label_of(*day))
        .y_desc(data.unit)
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 13))
        .draw()?;
    if let Some(limit) = data.limit {
        chart.draw_series(LineSeries::new(
            [(data.first, limit), (end, limit)],
            LIMIT_COLOR.stroke_width(2),
        ))?;
    }
    chart.draw_series(LineSeries::new(
        data.points.iter().copied(),
        SERIES_COLOR.stroke_width(2),
    ))?;
    // A dot per day with data, so a single day is a visible point, not nothing.
    chart.draw_series(
        data.points
            .iter()
            .map(|&point| Circle::new(point, 3, SERIES_COLOR.filled())),
    )?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(day: i64) -> String {
        format!("d{day}")
    }

    /// The words of the chart's `<text>` elements.
    fn texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .filter_map(|part| {
                Some(
                    part.split_once('>')?
                        .1
                        .split_once("</text>")?
                        .0
                        .trim()
                        .to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn a_chart_has_axes_labels_points_and_the_limit_line() {
        let points = [(10, 2), (12, 5)];
        let data = ChartData {
            first: 10,
            last: 14,
            points: &points,
            limit: Some(3),
            unit: "users",
        };
        let svg = line_chart(&data, &label).unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        let texts = texts(&svg);
        assert!(
            texts.contains(&"d10".to_string()),
            "x axis labels: {texts:?}"
        );
        assert!(
            texts.contains(&"users".to_string()),
            "y axis name: {texts:?}"
        );
        assert_eq!(svg.matches("<circle").count(), 2, "a dot per day");
        assert!(svg.contains("#B91C1C"), "the limit line: {svg}");
    }

    #[test]
    fn each_metric_is_charted_against_its_limit_and_unlimited_ones_without() {
        let mut features = PlanFeatures {
            max_users_per_org: 3,
            max_companies: 999_999,
            ..PlanFeatures::default()
        };
        features.max_invoices_per_month = 0;
        let day = UsageDayDto {
            date: "2026-11-29".into(),
            validations: 2,
            instance_urls: vec![],
            more_instance_urls: 0,
            metrics: [(
                "userCount".to_string(),
                crate::licensing::usage::MetricRollup { max: 4, last: 4 },
            )]
            .into(),
            violations: vec![],
        };
        let today = day_number("2026-11-29").unwrap();
        assert_eq!(date_of(today), "2026-11-29");
        let charts = usage_charts(&[day], &features, today - 89, today).unwrap();
        let limits: Vec<(&str, Option<i64>)> = charts
            .iter()
            .map(|c| (c.metric.as_str(), c.limit))
            .collect();
        assert_eq!(
            limits,
            [
                ("userCount", Some(3)),
                ("companyCount", None),
                ("invoicesThisMonth", None),
                ("orgCount", Some(1)),
                ("validations", None)
            ]
        );
        let labels = texts(&charts[0].svg);
        assert!(
            labels.contains(&"11-29".to_string()),
            "today is labelled: {labels:?}"
        );
        assert!(
            labels
                .iter()
                .filter(|t| t.len() == 5 && t.as_bytes()[2] == b'-')
                .count()
                >= 2,
            "{labels:?}"
        );
        assert!(labels.contains(&"Users".to_string()), "{labels:?}");
    }

    #[test]
    fn empty_and_one_day_histories_still_draw() {
        for points in [&[][..], &[(7, 1)][..]] {
            let data = ChartData {
                first: 7,
                last: 7,
                points,
                limit: None,
                unit: "validations",
            };
            let svg = line_chart(&data, &label).unwrap();
            assert!(texts(&svg).contains(&"d7".to_string()), "{svg}");
            assert!(!svg.contains("#B91C1C"), "no limit, no line");
            assert_eq!(svg.matches("<circle").count(), points.len());
        }
    }
}
