// One bounded step of server work per request; a failed request is retried after a
// countdown (like the backup page), a refused one shows the server's message.
const CSRF = document.querySelector('meta[name="csrf-token"]').content;

async function postJSON(url, body) {
  const response = await fetch(url, {
    method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-CSRF-Token": CSRF},
    body: JSON.stringify(body || {}),
  });
  let data = {};
  try { data = await response.json(); } catch (e) { data = {}; }
  return {status: response.status, data};
}

function sleepWithCountdown(seconds, show) {
  return new Promise(resolve => {
    let left = seconds;
    show(left);
    const timer = setInterval(() => {
      left -= 1;
      if (left <= 0) { clearInterval(timer); resolve(); } else { show(left); }
    }, 1000);
  });
}

// Calls url until the reply says done. ui: {bar, status, error, retries, retrySeconds, onProgress}
async function runSteps(url, body, ui) {
  let failures = 0;
  while (true) {
    let reply;
    try {
      reply = await postJSON(url, body);
    } catch (e) {
      reply = {status: 0, data: {error: "no answer from the wizard (" + e.message + ")"}};
    }
    if (reply.status === 200) {
      failures = 0;
      const d = reply.data;
      ui.bar.style.width = (100 * d.fraction).toFixed(1) + "%";
      ui.status.textContent = (100 * d.fraction).toFixed(1) + "% " + (d.item || "") + " " + (d.detail || "");
      if (ui.onProgress) ui.onProgress(d);
      if (d.done) return d;
      continue;
    }
    if (reply.status >= 400 && reply.status < 500) {
      throw new Error(reply.data.error || ("the wizard refused the request (HTTP " + reply.status + ")"));
    }
    failures += 1;
    if (failures > ui.retries) {
      throw new Error((reply.data.error || "the wizard stopped answering") +
                      " — gave up after " + ui.retries + " retries. Reload the page to continue where it stopped.");
    }
    await sleepWithCountdown(ui.retrySeconds, left => {
      ui.status.textContent = "Request failed (" + (reply.data.error || "HTTP " + reply.status) +
        "); retry " + failures + " of " + ui.retries + " in " + left + " s";
    });
  }
}
