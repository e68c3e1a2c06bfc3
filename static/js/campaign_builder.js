// The campaign builder: the trigger's setting is labelled by what it means for the chosen trigger; "Send now" and
// "Send at" exclude each other; variant shares not typed by hand follow the holdout so that A + B + holdout = 100.
(function () {
  var form = document.getElementById("campaign-form");
  var source = document.getElementById("trigger-settings");
  if (!form || !source) return;
  var settings = JSON.parse(source.textContent);

  var trigger = document.getElementById("id_trigger");
  var value = document.getElementById("id_trigger_value");
  var valueLabel = form.querySelector('label[for="id_trigger_value"]');
  var valueHelp = document.getElementById("id_trigger_value_helptext");
  var defaultLabel = valueLabel ? valueLabel.textContent : "";
  var defaultHelp = valueHelp ? valueHelp.textContent : "";
  function showTriggerSetting() {
    var setting = settings[trigger.value];
    if (valueLabel) valueLabel.textContent = setting ? setting.label : defaultLabel;
    if (valueHelp) valueHelp.textContent = setting ? setting.help : defaultHelp;
    value.disabled = !setting;
  }
  if (trigger && value) {
    trigger.addEventListener("change", showTriggerSetting);
    showTriggerSetting();
  }

  var sendNow = document.getElementById("id_send_now");
  var sendAt = document.getElementById("id_scheduled_at");
  function showSendAt() { sendAt.disabled = sendNow.checked; }
  if (sendNow && sendAt) {
    sendNow.addEventListener("change", showSendAt);
    showSendAt();
  }

  var holdout = document.getElementById("id_holdout_percent");
  var shares = [document.getElementById("id_weight_A"), document.getElementById("id_weight_B")].filter(Boolean);
  shares.forEach(function (share) { share.addEventListener("input", function () { share.dataset.typed = "1"; }); });
  if (holdout) {
    holdout.addEventListener("input", function () {
      var rest = Math.max(100 - (parseInt(holdout.value, 10) || 0), 2);
      shares.forEach(function (share) { if (!share.dataset.typed) share.value = Math.floor(rest / 2); });
    });
  }
})();
