// ECharts, imported piece by piece so the bundle carries only the charts the console draws.
// Each chart follows its container's size; pages dispose theirs when they leave.

import { init, use, graphic } from "echarts/core";
import { BarChart, CustomChart, HeatmapChart, LineChart, PieChart } from "echarts/charts";
import {
  AriaComponent,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  TitleComponent,
  TooltipComponent,
  VisualMapContinuousComponent,
} from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

use([
  BarChart,
  CustomChart,
  HeatmapChart,
  LineChart,
  PieChart,
  AriaComponent,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  TitleComponent,
  TooltipComponent,
  VisualMapContinuousComponent,
  CanvasRenderer,
]);

export { graphic };

// Canvas text does not fall back through CSS: name the CJK fonts a center's machines have.
export const FONT = '"Microsoft YaHei", "PingFang SC", "Noto Sans CJK SC", "WenQuanYi Micro Hei", "Source Han Sans SC", sans-serif';

/** What every chart shares: the font, aria descriptions (ECharts writes one on the container), short animations. */
export const COMMON = {
  textStyle: { fontFamily: FONT },
  aria: { enabled: true },
  animationDuration: 300,
  animationDurationUpdate: 300,
};

/** A chart in `el`, resized with it; returns {set(option), dispose()}. */
export function chart(el) {
  const instance = init(el, null, { renderer: "canvas", locale: "ZH" });
  const observer = new ResizeObserver(() => instance.resize());
  observer.observe(el);
  return {
    instance,
    set(option) {
      instance.setOption({ ...COMMON, ...option }, { notMerge: true });
    },
    dispose() {
      observer.disconnect();
      instance.dispose();
    },
  };
}
