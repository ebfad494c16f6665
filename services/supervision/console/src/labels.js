// The Chinese words staff read for the codes the API sends. Where the API gives its own text
// (state_text, event_text, status_text, department_name) the console shows that instead.

export const ROLE_TEXT = {
  supervisor: "监察人员",
  admin: "中心管理员",
  operator: "运维人员",
  window: "窗口人员",
  department: "部门人员",
};

/** Roles that may redrive/discard dead letters and resolve complaints (the server checks again). */
export const ACTING_ROLES = new Set(["supervisor", "admin"]);
export const ACTING_ONLY = "仅监察人员可操作";

export const CASE_STATE_TEXT = {
  submitted: "已申请",
  handling: "办理中",
  concluded: "已办结",
  not_accepted: "不予受理",
};

/** A part's clock, in the order the overview stacks them. */
export const CLOCK_STATES = [
  ["pending", "未受理"],
  ["running", "办理中"],
  ["suspended", "中止计时"],
  ["overdue", "已超期"],
  ["done_on_time", "按时办结"],
  ["done_late", "超期办结"],
];

export const CLOCK_COLOR = {
  pending: "#9e9e9e",
  running: "#1e6fd9",
  suspended: "#f0a020",
  overdue: "#d32f2f",
  done_on_time: "#2e7d32",
  done_late: "#ef6c00",
  unscheduled: "#795548",
};

export const ALERT_TEXT = {
  reminder: "提醒",
  yellow_card: "黄牌",
  urge: "催办",
  shirking: "推托联办责任",
  red_card: "红牌",
  deemed_approval: "超时默许",
};

export const ALERT_COLOR = {
  reminder: "#1e88e5",
  yellow_card: "#f9c80e",
  urge: "#8e24aa",
  shirking: "#6d4c41",
  red_card: "#d32f2f",
  deemed_approval: "#00897b",
};

export const BRIDGE_TEXT = {
  http: "接口",
  ferry: "摆渡",
  database: "前置库",
  kafka: "消息集群",
  none: "无",
};

export const EVALUATION_TEXT = {
  5: "非常满意",
  4: "满意",
  3: "基本满意",
  2: "不满意",
  1: "非常不满意",
};

export const FILED_VIA_TEXT = {
  window: "窗口",
  applicant: "申请人",
  supervisor: "监察人员",
};

export const ACTION_TEXT = {
  accept: "预审通过",
  supplement: "要求补正",
  refuse: "不予受理",
  approve: "准予许可",
  deny: "不予许可",
  rectify: "要求整改",
  suspend: "中止计时",
  resume: "恢复计时",
  request_extension: "申请延长时限",
  decide_extension: "延长时限决定",
  deemed_approve: "超时默许",
};

export const PART_STATE_TEXT = {
  forwarded: "待预审",
  pre_accepted: "预审通过",
  supplement_requested: "需补正",
  pre_refused: "不予受理",
  handling: "办理中",
  suspended: "中止计时",
  approved: "准予",
  denied: "不予许可",
  rectification_required: "需整改",
};

export const OUTCOME_TEXT = {
  approved: "准予",
  denied: "不予许可",
  rectification_required: "需整改",
  not_accepted: "不予受理",
};
