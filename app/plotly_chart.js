// The browser half of app.live_chart: one plotly chart per component, updated in place with
// Plotly.react when a new figure comes (never thrown away and drawn anew), clicks on points
// sent back as the trigger "click". data: {figure: the figure as JSON text, config: plotly's
// config, src: URL of plotly.js, clickable: whether clicks are sent, stretch: whether the
// chart takes its container's width (else the figure's own)}.
function loadPlotly(src) {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!window.__snnrPlotly) {
    window.__snnrPlotly = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.onload = () => resolve(window.Plotly);
      script.onerror = () => {
        window.__snnrPlotly = null;
        reject(new Error("could not load plotly.js from " + src + "; reload the page"));
      };
      document.head.appendChild(script);
    });
  }
  return window.__snnrPlotly;
}

function pointsOf(event) {
  return event.points.map(p => ({ curve_number: p.curveNumber, point_index: p.pointIndex,
                                  customdata: p.customdata === undefined ? null : p.customdata }));
}

export default function ({ data, parentElement, setTriggerValue }) {
  let gd = parentElement.querySelector(":scope > .snnr-chart");
  if (!gd) {
    gd = document.createElement("div");
    gd.className = "snnr-chart";
    parentElement.appendChild(gd);
  }
  gd.__snnrClick = data.clickable ? (event => setTriggerValue("click", pointsOf(event))) : null;
  const wanted = data.figure + JSON.stringify(data.config) + data.stretch;
  gd.__snnrWanted = wanted;
  loadPlotly(data.src).then(Plotly => {
    if (gd.__snnrWanted !== wanted || gd.__snnrDrawn === wanted) return;  // superseded, or already shown
    const figure = JSON.parse(data.figure);
    figure.layout = figure.layout || {};
    if (data.stretch) delete figure.layout.width;
    const width = figure.layout.width;
    gd.style.width = width ? width + "px" : "100%";
    figure.config = Object.assign({ displaylogo: false, responsive: !width }, data.config);
    return Plotly.react(gd, figure).then(() => {
      gd.__snnrDrawn = wanted;
      if (!gd.__snnrListening) {
        gd.__snnrListening = true;
        gd.on("plotly_click", event => gd.__snnrClick && gd.__snnrClick(event));
      }
    });
  }).catch(error => { gd.textContent = String(error); });
  return () => { if (window.Plotly) window.Plotly.purge(gd); };
}
