<?php
// What a classic theme registers: a menu location, a widget area, its stylesheet.
add_action('after_setup_theme', function () {
    add_theme_support('title-tag');
    register_nav_menus(['primary' => 'Primary menu']);
});
add_action('widgets_init', function () {
    register_sidebar(['id' => 'sidebar-1', 'name' => 'Sidebar']);
});
add_action('wp_enqueue_scripts', function () {
    wp_enqueue_style('fixture-style', get_stylesheet_uri(), [], '1.0');
});
