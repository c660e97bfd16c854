// Package e2e holds CamLens's browser tests (no non-test code): they build
// the site with scripts/build into a temporary directory, serve it on
// 127.0.0.1, and drive Debian's headless Chromium through chromedp.
//
// Every request the browser makes — from the page, its iframes, the engine's
// worker and the service worker — goes through a recording proxy
// (the proxy of the tests' browser context, with loopback not
// bypassed), so the tests can assert that
// nothing but the page's own origin was asked for; CDP network events of the
// page are recorded too. The proxy can also cut the network (offline test).
//
// TestAppBadInput feeds the page bad files (built by the helper package
// badfiles and in the test) and kills its engine through the page's test
// hooks (camlens.debug.crashEngine: a Go panic, an uncaught error in the
// worker, a hang, a terminated worker); TestAppCheck drives the "Check this
// explanation" panel and compares its AUCs with core/metrics;
// TestExplainerRecovery runs a Node unit test of web/camlens.js's
// recovery (it needs no browser and also runs with -short).
//
// Environment: CAMLENS_REQUIRE_DEPS=1 turns a missing chromium into a
// failure instead of a skip; CAMLENS_SCREENSHOTS names the directory for
// the screenshots (default: a new temporary directory, printed and kept);
// CAMLENS_E2E_MODELS replaces models/ (a directory with catalog.json).
// The browser tests are skipped with -short.
package e2e
