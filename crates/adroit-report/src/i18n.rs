//! Every visible label of the report in English and Chinese: one table, one row per
//! key. `{name}` placeholders are filled by the renderer.

use crate::Lang;
use std::collections::BTreeMap;

/// `(key, English, 中文)`.
pub const LABELS: &[(&str, &str, &str)] = &[
    ("report_title", "Marketing ROI report", "营销投资回报报告"),
    ("untitled", "Untitled project", "未命名项目"),
    ("project", "Project", "项目"),
    ("currency", "Currency", "货币"),
    ("run_period", "Run", "运行时间"),
    ("version", "adroit version", "adroit 版本"),
    ("contents", "Contents", "目录"),
    ("summary", "Executive summary", "执行摘要"),
    ("quality", "Data quality", "数据质量"),
    ("kpis", "Channel KPIs", "渠道关键指标"),
    ("mmm", "Marketing mix model", "营销组合模型"),
    ("curves", "Response curves", "响应曲线"),
    ("budget", "Budget recommendation", "预算建议"),
    ("attribution", "Attribution comparison", "归因模型对比"),
    (
        "customers",
        "Customers, segments and CLV",
        "客户、分群与生命周期价值",
    ),
    ("uplift", "Uplift and targeting", "增益模型与精准投放"),
    ("fairness", "Fairness of the targeting", "投放公平性"),
    (
        "narrative_note",
        "Written by a language model from the figures of this run only; every number in it was checked against them, and paragraphs with any other number were left out.",
        "由语言模型仅依据本次运行的数据撰写；其中每个数字均已核对，含其他数字的段落已删除。",
    ),
    (
        "fairness_pass",
        "Pass: every audited group is within the limits",
        "通过：所有受审群体均在限值之内",
    ),
    (
        "fairness_fail",
        "Fail: a limit is broken",
        "未通过：存在超出限值的指标",
    ),
    ("max_gap", "largest allowed gap", "允许的最大差异"),
    (
        "min_impact",
        "smallest allowed disparate-impact ratio",
        "允许的最小差别影响比",
    ),
    ("group", "Group", "群体"),
    ("selection_rate", "Selection rate", "入选率"),
    (
        "selection_by",
        "Selection rate by {column}",
        "按 {column} 的入选率",
    ),
    (
        "parity_gap",
        "demographic parity difference",
        "人口均等差异",
    ),
    (
        "opportunity_gap",
        "equal opportunity difference",
        "机会均等差异",
    ),
    ("impact_ratio", "disparate impact ratio", "差别影响比"),
    ("text", "Text insights", "文本洞察"),
    ("diagnostics", "Model diagnostics", "模型诊断"),
    ("sampler", "Sampler", "采样器"),
    (
        "ess",
        "Effective sample size (min bulk / tail)",
        "有效样本量（最小 bulk / tail）",
    ),
    ("divergences", "Divergent transitions", "发散转移"),
    ("geos", "Geos (hierarchical)", "地区（分层）"),
    ("curve_gap", "national curve gap up to", "全国曲线最大偏差"),
    ("warning", "Warning", "警告"),
    ("run_info", "Run details", "运行详情"),
    (
        "note_absent",
        "{section}: not in this run — the {stage} stage was not run{why}.",
        "{section}：本次运行未包含——{stage} 阶段未运行{why}。",
    ),
    ("status_ran", "ran", "已运行"),
    ("status_cached", "cached", "已缓存"),
    ("status_skipped", "skipped", "已跳过"),
    ("status_failed", "failed", "失败"),
    ("total_spend", "Total spend", "总花费"),
    ("revenue", "Revenue", "收入"),
    ("kpi_total", "KPI total", "KPI 总量"),
    ("roas", "ROAS", "广告支出回报率 (ROAS)"),
    ("media_roas", "Media ROAS (MMM)", "媒体 ROAS（MMM）"),
    ("media_contribution", "media contribution", "媒体贡献"),
    (
        "expected_lift",
        "Expected lift from reallocation",
        "重新分配预算的预期提升",
    ),
    (
        "expected_lift_text",
        "Reallocating the same budget of {budget} over the next {periods} periods is expected to add {amount} ({pct}).",
        "在未来 {periods} 期内以同样的 {budget} 预算重新分配，预计可增加 {amount}（{pct}）。",
    ),
    (
        "move_up",
        "Increase {channel} by {amount}",
        "{channel} 增加 {amount}",
    ),
    (
        "move_down",
        "Cut {channel} by {amount}",
        "{channel} 削减 {amount}",
    ),
    (
        "roas_by_channel",
        "MMM ROAS by channel (90% interval)",
        "各渠道 MMM ROAS（90% 区间）",
    ),
    (
        "recommended_move",
        "Recommended budget move",
        "建议的预算调整",
    ),
    (
        "fact_quality",
        "Data quality: {errors} error(s), {warnings} warning(s).",
        "数据质量：{errors} 个错误，{warnings} 个警告。",
    ),
    (
        "fact_clv",
        "{customers} customers with a predicted lifetime value of {clv} in total.",
        "{customers} 位客户，预测生命周期价值合计 {clv}。",
    ),
    (
        "fact_qini",
        "Uplift model Qini coefficient: {qini}.",
        "增益模型 Qini 系数：{qini}。",
    ),
    ("sev_error", "error", "错误"),
    ("sev_warning", "warning", "警告"),
    ("sev_info", "info", "提示"),
    ("severity", "Severity", "严重程度"),
    ("table", "Table", "数据表"),
    ("rule", "Rule", "规则"),
    ("message", "Finding", "发现"),
    ("suggestion", "Suggestion", "建议"),
    ("file", "File", "文件"),
    ("rows", "Rows", "行数"),
    ("grain", "Grain", "粒度"),
    ("dates", "Dates", "日期范围"),
    (
        "no_findings",
        "No findings: every check passed.",
        "没有发现问题：所有检查均通过。",
    ),
    ("tables_checked", "Tables checked", "已检查的数据表"),
    ("channel", "Channel", "渠道"),
    ("spend", "Spend", "花费"),
    ("impressions", "Impressions", "展示量"),
    ("clicks", "Clicks", "点击量"),
    ("conversions", "Conversions", "转化量"),
    ("ctr", "CTR", "点击率"),
    ("cpc", "CPC", "单次点击成本"),
    ("cpa", "CPA", "单次转化成本"),
    ("total", "Total", "合计"),
    (
        "spend_by_period",
        "Spend by channel and period",
        "各渠道各期花费",
    ),
    ("spend_share", "Share of spend", "花费占比"),
    ("effect_share", "Share of effect", "效果占比"),
    (
        "share_chart",
        "Share of spend vs share of effect (90% interval)",
        "花费占比与效果占比（90% 区间）",
    ),
    (
        "roas_chart",
        "ROAS by channel with 90% interval",
        "各渠道 ROAS 及 90% 区间",
    ),
    ("contribution", "Contribution", "贡献"),
    ("mroas", "Marginal ROAS", "边际 ROAS"),
    ("interval", "90% interval", "90% 区间"),
    ("base", "Base (non-media)", "基础（非媒体）"),
    ("actual_kpi", "Actual KPI", "实际 KPI"),
    (
        "decomp_chart",
        "Decomposition of the KPI over time",
        "KPI 随时间的分解",
    ),
    (
        "waterfall_chart",
        "Contributions to the KPI (waterfall)",
        "KPI 贡献瀑布图",
    ),
    ("intercept", "Intercept", "截距"),
    ("seasonality", "Seasonality", "季节性"),
    ("trend", "Trend", "趋势"),
    ("fitted_total", "Fitted total", "拟合总计"),
    ("current_spend", "Current spend", "当前花费"),
    ("optimal_spend", "Optimal spend", "最优花费"),
    ("response", "Response", "响应"),
    ("spend_per_period", "Spend per period", "每期花费"),
    (
        "curves_note",
        "Response per period at each level of spend; the dot marks the current spend and the diamond the recommended one.",
        "每期在不同花费水平下的响应；圆点为当前花费，菱形为建议花费。",
    ),
    ("obj_max_response", "maximise response", "最大化响应"),
    ("obj_target_roas", "reach a target ROAS", "达到目标 ROAS"),
    ("obj_target_cpa", "reach a target CPA", "达到目标 CPA"),
    ("objective", "Objective", "目标"),
    ("horizon", "Periods", "期数"),
    ("current", "Current", "当前"),
    ("optimal", "Recommended", "建议"),
    ("change", "Change", "变化"),
    ("current_roas", "Current ROAS", "当前 ROAS"),
    ("optimal_roas", "Recommended ROAS", "建议 ROAS"),
    ("marginal_roas", "Marginal ROAS", "边际 ROAS"),
    ("reason", "Reason", "原因"),
    ("current_response", "Current response", "当前响应"),
    ("optimal_response", "Recommended response", "建议响应"),
    ("lift", "Lift", "提升"),
    ("model_first", "First touch", "首次触点"),
    ("model_last", "Last touch", "末次触点"),
    ("model_linear", "Linear", "线性"),
    ("model_time_decay", "Time decay", "时间衰减"),
    ("model_position", "Position based", "位置加权"),
    ("model_markov", "Markov chain", "马尔可夫链"),
    ("model_shapley", "Shapley", "沙普利值"),
    (
        "attribution_chart",
        "Attributed conversions by model",
        "各模型归因的转化量",
    ),
    (
        "attribution_headline",
        "{journeys} journeys, {conversions} conversions worth {value}.",
        "{journeys} 条用户路径，{conversions} 次转化，价值 {value}。",
    ),
    ("removal_effect", "Removal effect", "移除效应"),
    ("segment", "Segment", "分群"),
    ("customers_n", "Customers", "客户数"),
    ("customer_share", "Share of customers", "客户占比"),
    ("mean_monetary", "Mean order value", "平均订单金额"),
    ("mean_frequency", "Mean repeat purchases", "平均复购次数"),
    ("mean_clv", "Mean CLV", "平均 CLV"),
    (
        "segment_chart",
        "Segments: share of customers vs share of spend",
        "分群：客户占比与消费占比",
    ),
    (
        "clv_chart",
        "Distribution of predicted CLV",
        "预测 CLV 分布",
    ),
    ("clv_total", "Total predicted CLV", "预测 CLV 合计"),
    ("clv_mean", "Mean CLV", "平均 CLV"),
    ("clv_median", "Median CLV", "CLV 中位数"),
    ("clv_p90", "90th percentile CLV", "CLV 第 90 百分位"),
    ("p_alive", "Mean probability alive", "平均存活概率"),
    ("clv_model", "CLV model", "CLV 模型"),
    ("purchase_model", "Purchase model", "购买模型"),
    ("spend_model", "Spend model", "消费模型"),
    ("converged", "Converged", "已收敛"),
    ("loglik", "Log-likelihood", "对数似然"),
    ("yes", "yes", "是"),
    ("no", "no", "否"),
    ("qini_model", "Model", "模型"),
    ("qini_random", "Random targeting", "随机投放"),
    ("qini_chart", "Qini curve (holdout)", "Qini 曲线（留出集）"),
    ("targeted", "Customers targeted", "投放客户数"),
    ("uplift_rate", "Uplift", "增益"),
    (
        "decile_chart",
        "Uplift by decile of predicted uplift",
        "按预测增益十分位的实际增益",
    ),
    ("qini_coefficient", "Qini coefficient", "Qini 系数"),
    ("auuc", "AUUC", "AUUC"),
    ("ate", "Average effect (95% CI)", "平均效应（95% 置信区间）"),
    ("contacted", "Contacted", "触达"),
    (
        "expected_profit",
        "Expected profit of the targeting list",
        "目标名单的预期利润",
    ),
    (
        "contact_all_profit",
        "Profit if everyone is contacted",
        "全部触达的利润",
    ),
    ("kpi_series", "KPI by week", "每周 KPI"),
    ("sentiment_score", "Sentiment score", "情感得分"),
    ("negative_share", "Negative share", "负面占比"),
    ("positive_share", "Positive share", "正面占比"),
    (
        "sentiment_chart",
        "Sentiment over time (4-week mean)",
        "情感随时间变化（4 周均值）",
    ),
    (
        "aspect_chart",
        "Negative share by aspect (4-week mean)",
        "各方面负面占比（4 周均值）",
    ),
    ("aspect_price", "Price", "价格"),
    ("aspect_quality", "Quality", "质量"),
    ("aspect_delivery", "Delivery", "物流"),
    ("aspect_service", "Service", "服务"),
    ("aspect_packaging", "Packaging", "包装"),
    ("aspect_taste", "Taste", "口味"),
    ("aspect_environment", "Environment", "环境"),
    ("aspect_battery", "Battery", "电池"),
    ("aspect_screen", "Screen", "屏幕"),
    ("aspect_sound", "Sound", "音质"),
    ("sent_positive", "Positive", "正面"),
    ("sent_negative", "Negative", "负面"),
    ("sent_neutral", "Neutral", "中性"),
    (
        "sentiment_mix",
        "Sentiment of {texts} texts",
        "{texts} 条文本的情感分布",
    ),
    ("sentiment", "Sentiment", "情感"),
    ("count", "Count", "数量"),
    ("share", "Share", "占比"),
    ("topics", "Top topics", "主要话题"),
    ("topic", "Topic", "话题"),
    ("terms", "Terms", "关键词"),
    ("size", "Texts", "文本数"),
    ("quotes", "Representative quotes", "代表性原文"),
    ("r2", "R² (training)", "R²（训练集）"),
    ("adj_r2", "Adjusted R²", "调整后 R²"),
    ("holdout", "Holdout", "留出集"),
    (
        "no_holdout",
        "none (no holdout periods)",
        "无（未设留出期）",
    ),
    (
        "acf1",
        "Residual autocorrelation (lag 1)",
        "残差自相关（滞后 1 期）",
    ),
    (
        "evaluations",
        "Candidate models evaluated",
        "评估的候选模型数",
    ),
    ("metric", "Metric", "指标"),
    ("value", "Value", "数值"),
    (
        "vif",
        "Variance inflation factors (above 10 flagged)",
        "方差膨胀因子（大于 10 标出）",
    ),
    ("term", "Term", "变量"),
    (
        "lift_tests",
        "Lift tests: measured vs predicted",
        "增量实验：实测与预测",
    ),
    ("test", "Test", "实验"),
    ("measured", "Measured", "实测"),
    ("predicted", "Predicted", "预测"),
    ("error", "Error", "误差"),
    ("selection", "Model selection", "模型选择"),
    ("selected_model", "Selected model", "选定模型"),
    ("pareto_front", "Pareto front", "帕累托前沿"),
    (
        "pareto_chart",
        "Pareto front: NRMSE vs DECOMP.RSSD",
        "帕累托前沿：NRMSE 与 DECOMP.RSSD",
    ),
    ("stage", "Stage", "阶段"),
    ("status", "Status", "状态"),
    ("seconds", "Time", "耗时"),
    ("config", "Config", "配置文件"),
    (
        "footer",
        "Generated by adroit. Self-contained: no network needed to view this file.",
        "由 adroit 生成。本文件自包含，无需联网即可查看。",
    ),
];

/// Known RFM segment names (as `adroit customers summary` writes them) in Chinese.
const SEGMENTS_ZH: &[(&str, &str)] = &[
    ("champions", "冠军客户"),
    ("loyal", "忠诚客户"),
    ("potential loyalist", "潜在忠诚客户"),
    ("new customers", "新客户"),
    ("promising", "有潜力客户"),
    ("need attention", "需要关注"),
    ("about to sleep", "即将沉睡"),
    ("at risk", "流失风险"),
    ("cannot lose them", "不能失去的客户"),
    ("hibernating", "休眠客户"),
    ("lost", "已流失"),
    ("others", "其他"),
];

/// A segment's display name: Chinese for known names under `zh`, else the name as is.
pub fn segment_label(lang: Lang, name: &str) -> String {
    match lang {
        Lang::Zh => SEGMENTS_ZH
            .iter()
            .find(|(k, _)| *k == name)
            .map_or(name, |(_, v)| v)
            .to_string(),
        Lang::En => name.to_string(),
    }
}

/// The labels of one language.
pub struct Labels {
    map: BTreeMap<&'static str, &'static str>,
}

impl Labels {
    /// The label, or the key itself when missing (a test checks none is).
    pub fn get<'a>(&'a self, key: &'a str) -> &'a str {
        self.map.get(key).copied().unwrap_or(key)
    }
    /// The label, or `fallback` (a value from the data with no translation).
    pub fn get_or(&self, key: &str, fallback: &str) -> String {
        self.map.get(key).map_or(fallback, |v| v).to_string()
    }
    pub fn map(&self) -> &BTreeMap<&'static str, &'static str> {
        &self.map
    }
}

pub fn labels(lang: Lang) -> Labels {
    Labels {
        map: LABELS
            .iter()
            .map(|(k, en, zh)| (*k, if lang == Lang::Zh { *zh } else { *en }))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_in_both_languages_once() {
        let mut seen = std::collections::BTreeSet::new();
        for (k, en, zh) in LABELS {
            assert!(seen.insert(*k), "duplicate label {k}");
            assert!(!en.trim().is_empty() && !zh.trim().is_empty(), "{k}");
            // Placeholders agree between the languages.
            let ph = |s: &str| {
                let mut v: Vec<String> = s
                    .split('{')
                    .skip(1)
                    .filter_map(|p| p.split_once('}').map(|(a, _)| a.to_string()))
                    .collect();
                v.sort();
                v
            };
            assert_eq!(ph(en), ph(zh), "placeholders of {k}");
        }
    }
}
