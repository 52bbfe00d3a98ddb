<?php
require __DIR__ . '/request.php';
// WordPress's installer: wp_install() into the empty database.
define('WP_INSTALLING', true);
define('WP_SITEURL', $url);  // what wp_guess_url() answers while installing: the URL served
require getenv('WP_FIXTURE_ROOT') . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';

$installed = wp_install('Fixture Blog', 'admin', 'admin@example.com', true, '', getenv('WP_FIXTURE_ADMIN_PW'));
echo json_encode(['admin' => (int) $installed['user_id']]);
