<!DOCTYPE html>
<html <?php language_attributes(); ?>>
<head>
<meta charset="<?php bloginfo('charset'); ?>">
<?php wp_head(); ?>
</head>
<body <?php body_class(); ?>>
<header>
<h1><a href="<?php echo esc_url(home_url('/')); ?>"><?php bloginfo('name'); ?></a></h1>
<?php wp_nav_menu(['theme_location' => 'primary', 'fallback_cb' => false]); ?>
<a class="header-link" href="<?php echo esc_url(get_theme_mod('header_link')); ?>">Header link</a>
</header>
<main>
<?php while (have_posts()) : the_post(); ?>
<article>
<h2><a href="<?php the_permalink(); ?>"><?php the_title(); ?></a></h2>
<?php the_content(); ?>
<?php if (is_singular()) : ?>
<h3>Comments</h3>
<?php wp_list_comments([], get_comments(['post_id' => get_the_ID(), 'status' => 'approve'])); ?>
<?php endif; ?>
</article>
<?php endwhile; ?>
</main>
<aside><?php dynamic_sidebar('sidebar-1'); ?></aside>
<?php wp_footer(); ?>
</body>
</html>
