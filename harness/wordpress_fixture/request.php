<?php
// Included by install.php and content.php, run by harness/wordpress.py with PHP CLI;
// settings and passwords come from the environment, never the command line. PHP CLI has
// no request: this one is for the site's URL.
$url = getenv('WP_FIXTURE_URL');
$parts = parse_url($url);
$_SERVER['HTTP_HOST'] = $parts['host'] . (isset($parts['port']) ? ':' . $parts['port'] : '');
$_SERVER['REQUEST_URI'] = ($parts['path'] ?? '') . '/';
$_SERVER['SERVER_PROTOCOL'] = 'HTTP/1.1';
$_SERVER['REQUEST_METHOD'] = 'GET';
