// Mounts one interactive in a page without a kernel (the built book). The page holds, beside this
// script, a JSON element with the interactive's bundled ES module and its model state; the module
// is imported from a blob URL (no network) and rendered on the stand-in model of cb.js.
(function (root) {
  "use strict";
  var config = JSON.parse(root.querySelector("script.cb-config").textContent);
  var url = URL.createObjectURL(new Blob([config.esm], {type: "text/javascript"}));
  import(url).then(function (mod) {
    URL.revokeObjectURL(url);
    mod.default.render({model: mod.createModel(config.state), el: root.querySelector(".cb-root")});
  }).catch(function (err) {
    root.querySelector(".cb-root").textContent = "This interactive could not start: " + err;
    throw err;
  });
})
