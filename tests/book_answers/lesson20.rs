//! Lesson 20's exercises.
