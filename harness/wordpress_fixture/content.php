<?php
require __DIR__ . '/request.php';
// Content made through WordPress's own functions, on the installed site (its URL
// constants now come from its options, as on every request).
require getenv('WP_FIXTURE_ROOT') . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/image.php';

$admin = (int) getenv('WP_FIXTURE_ADMIN_ID');
wp_set_current_user($admin);  // unfiltered_html: content kept as written
switch_theme('sitepack-fixture');
$wp_rewrite->set_permalink_structure('/%postname%/');
flush_rewrite_rules(false);
update_option('show_avatars', 0);  // no gravatar.com: the pages stay on the machine
update_option('blogdescription', "Ünïcode 'quotes' & <b>tags</b>");

$editor = wp_insert_user(['user_login' => 'editor', 'user_pass' => getenv('WP_FIXTURE_EDITOR_PW'),
    'user_email' => 'editor@example.com', 'display_name' => 'Eddie Editor', 'role' => 'editor']);

// An image in the uploads folder, with its generated sizes and serialized metadata.
$image = imagecreatetruecolor(400, 300);
imagefilledrectangle($image, 0, 0, 399, 299, imagecolorallocate($image, 30, 120, 200));
ob_start();
imagepng($image);
$upload = wp_upload_bits('fixture-photo.png', null, ob_get_clean());
$attachment = wp_insert_attachment(['post_mime_type' => 'image/png', 'post_title' => 'Fixture photo',
    'post_status' => 'inherit'], $upload['file']);
wp_update_attachment_metadata($attachment, wp_generate_attachment_metadata($attachment, $upload['file']));
$img = wp_get_attachment_url($attachment);

$about = wp_insert_post(wp_slash(['post_type' => 'page', 'post_title' => 'About us', 'post_name' => 'about',
    'post_status' => 'publish', 'post_author' => $admin,
    'post_content' => "<!-- wp:heading -->\n<h2>Who we are</h2>\n<!-- /wp:heading -->\n"
        . "<!-- wp:paragraph -->\n<p>Read <a href=\"$url/moving-day/\">moving day</a>.</p>\n<!-- /wp:paragraph -->"]));
// A cover block keeps its image URL in the block comment as JSON: escaped slashes here,
// as json_encode() writes them by default.
$cover = json_encode(['url' => $img, 'id' => $attachment, 'dimRatio' => 50]);
$post = wp_insert_post(wp_slash(['post_title' => 'Moving day', 'post_name' => 'moving-day',
    'post_status' => 'publish', 'post_author' => $editor,
    'post_content' => "<!-- wp:paragraph -->\n<p>See <a href=\"$url/about/\">about us</a> and "
        . "<a href=\"$url/?p=1\">the first post</a>.</p>\n<!-- /wp:paragraph -->\n"
        . "<!-- wp:image {\"id\":$attachment} -->\n<figure class=\"wp-block-image\"><img src=\"$img\" alt=\"photo\" "
        . "class=\"wp-image-$attachment\"/></figure>\n<!-- /wp:image -->\n"
        . "<!-- wp:cover $cover -->\n<div class=\"wp-block-cover\"><span aria-hidden=\"true\" "
        . "class=\"wp-block-cover__background has-background-dim\"></span><img class=\"wp-block-cover__image-background "
        . "wp-image-$attachment\" alt=\"\" src=\"$img\" data-object-fit=\"cover\"/><div class=\"wp-block-cover__inner-container\">"
        . "<!-- wp:paragraph -->\n<p>Cover text</p>\n<!-- /wp:paragraph --></div></div>\n<!-- /wp:cover -->"]));
add_post_meta($post, 'fixture_link', "$url/about/");
add_post_meta($post, 'fixture_settings', ['url' => $url, 'folder' => ABSPATH, 'nested' => ['img' => $img]]);
set_post_thumbnail($post, $attachment);
wp_insert_comment(wp_slash(['comment_post_ID' => $post, 'comment_author' => 'Visitor',
    'comment_author_email' => 'visitor@example.com', 'comment_author_url' => "$url/about/",
    'comment_content' => "Nice move! More at $url/about/", 'comment_approved' => 1]));

update_option('fixture_nested', ['home' => $url, 'deeper' => ['uploads' => wp_upload_dir()['basedir'],
    'links' => ["$url/about/", "$url/moving-day/"]], 'count' => 3]);
update_option('widget_text', [2 => ['title' => 'Links', 'text' => "<a href=\"$url/about/\">About us</a>",
    'filter' => true, 'visual' => true], '_multiwidget' => 1]);
wp_set_sidebars_widgets(['wp_inactive_widgets' => [], 'sidebar-1' => ['text-2']]);
set_theme_mod('header_link', "$url/about/");
set_theme_mod('footer_note', 'Files live in ' . ABSPATH);

$menu = wp_create_nav_menu('Main');
wp_update_nav_menu_item($menu, 0, ['menu-item-title' => 'About us', 'menu-item-object' => 'page',
    'menu-item-object-id' => $about, 'menu-item-type' => 'post_type', 'menu-item-status' => 'publish']);
wp_update_nav_menu_item($menu, 0, ['menu-item-title' => 'Moving day', 'menu-item-url' => "$url/moving-day/",
    'menu-item-type' => 'custom', 'menu-item-status' => 'publish']);
set_theme_mod('nav_menu_locations', ['primary' => $menu]);

// Per-prefix user options, as wp-admin and plugins write them ({prefix}user-settings…).
update_user_option($admin, 'user-settings', 'libraryContent=browse&editor=tinymce');
update_user_option($admin, 'user-settings-time', time());
update_user_option($admin, 'dashboard_quick_press_last_post_id', $post);
update_user_option($editor, 'fixture_plugin_state', ['last' => "$url/about/"]);

echo json_encode(['admin' => $admin, 'editor' => $editor, 'post' => $post, 'page' => $about,
    'attachment' => $attachment, 'image' => $img]);
