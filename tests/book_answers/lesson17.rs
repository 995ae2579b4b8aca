//! Lesson 17's exercises.
